"""Staff management by a community office: create an account in their community, add a role, revoke it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.org.models import RoleAssignment, User

from .helpers import StaysOnPage, assert_shown, htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_community_staff_creates_staff_adds_and_revokes_a_role(web: Any, cast: Any, signed_in: Any) -> None:
    page = signed_in("community_staff_a")
    web.goto("/staff/")
    table = page.get_by_test_id("staff-table")
    expect(table).to_contain_text("grid_worker_a")
    expect(table).not_to_contain_text("grid_worker_b")  # community B's staff are not ours to see

    # New account: only community A's units are offered.
    page.get_by_test_id("staff-new").click()
    unit = page.locator("#id_unit")
    unit_values = unit.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert f"grid:{cast.grid_a2.pk}" in unit_values
    assert f"community:{cast.community_b.pk}" not in unit_values
    assert f"grid:{cast.grid_b1.pk}" not in unit_values
    page.fill("#id_username", "wangxm")
    page.fill("#id_display_name", "王小明")
    page.fill("#id_work_phone", "13912345678")
    page.fill("#id_password", "Xiaoming-2022!")
    page.fill("#id_password2", "Xiaoming-2022?")  # a typo first: the form says so and keeps the rest
    page.select_option("#id_role", "grid_worker")
    unit.select_option(f"grid:{cast.grid_a2.pk}")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-password2")).to_be_visible()
    assert page.input_value("#id_username") == "wangxm"
    assert not User.objects.filter(username="wangxm").exists()
    page.fill("#id_password", "Xiaoming-2022!")
    page.fill("#id_password2", "Xiaoming-2022!")
    page.get_by_test_id("submit").click()

    staff = User.objects.get(username="wangxm")
    expect(page).to_have_url(web.base_url + f"/staff/{staff.pk}/")
    expect(page.get_by_test_id("staff-username")).to_have_text("wangxm")
    expect(page.get_by_test_id("assignment")).to_have_count(1)
    expect(page.get_by_test_id("assignment").first).to_contain_text(cast.grid_a2.name)

    # A second role: volunteer in grid A1.
    page.get_by_test_id("add-role").click()
    page.select_option("#id_role", "volunteer")
    page.select_option("#id_unit", f"grid:{cast.grid_a1.pk}")
    page.fill("#id_reason", "疫情期间支援甲一网格")
    page.get_by_test_id("submit").click()
    expect(page).to_have_url(web.base_url + f"/staff/{staff.pk}/")
    rows = page.get_by_test_id("assignment")
    expect(rows).to_have_count(2)
    volunteer = rows.filter(has_text=cast.grid_a1.name)
    expect(volunteer.get_by_test_id("revoke-role")).to_be_visible()

    # Revoke it: a confirmation page first; cancelling changes nothing.
    volunteer.get_by_test_id("revoke-role").click()
    expect(page.get_by_test_id("confirm-question")).to_contain_text(cast.grid_a1.name)
    assert_shown(page.get_by_test_id("confirm-form"))
    page.locator("[data-testid=confirm-form] a.btn").click()  # Cancel
    expect(page).to_have_url(web.base_url + f"/staff/{staff.pk}/")
    assert RoleAssignment.objects.filter(user=staff, active=True).count() == 2
    volunteer.get_by_test_id("revoke-role").click()
    page.fill("#id_reason", "支援结束")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(web.base_url + f"/staff/{staff.pk}/")
    expect(volunteer.get_by_test_id("revoke-role")).to_have_count(0)
    expect(volunteer.locator(".badge.bg-secondary-lt")).to_be_visible()  # shown as revoked, kept on record
    assert list(RoleAssignment.objects.filter(user=staff, active=True).values_list("role", flat=True)) == [
        "grid_worker"
    ]
    expect(page.get_by_test_id("history")).to_contain_text("支援结束")
    web.screenshot("staff-member")

    # Back on the list, the HTMX search finds the new account without reloading.
    web.goto("/staff/")
    stay = StaysOnPage(page)
    with page.expect_response(htmx("q=%E7%8E%8B%E5%B0%8F%E6%98%8E")):
        page.fill("#id_q", "王小明")
    expect(page.get_by_test_id("staff-row")).to_have_count(1)
    expect(table).to_contain_text("wangxm")
    stay.check()
    web.goto("/staff/")
    web.screenshot("staff")
