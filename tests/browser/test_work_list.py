"""The work list for a community office: the overdue filter by HTMX, an item's page, cancelling it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.core.models import AuditEntry
from jiedao.work.actions import do_create_work_item
from jiedao.work.models import WorkItem

from .helpers import StaysOnPage, assert_shown, htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _item(cast: Any, title: str, due_at: dt.datetime, **kw: Any) -> Any:
    fields = {"community": cast.community_a, "grid": cast.grid_a1, "role": "grid_worker"}
    fields.update(kw)
    return do_create_work_item(actor=None, kind="test.visit", title=title, due_at=due_at, **fields)


def test_filter_overdue_open_an_item_and_cancel_it(web: Any, cast: Any, signed_in: Any) -> None:
    now = timezone.now()
    late = _item(cast, "逾期：核实返乡人员 2-1-402", now - dt.timedelta(hours=6))
    late2 = _item(cast, "逾期：回访独居老人", now - dt.timedelta(days=1), grid=cast.grid_a2)
    _item(cast, "本周：走访商户", now + dt.timedelta(days=2))
    _item(cast, "乙社区逾期的事", now - dt.timedelta(hours=2), community=cast.community_b, grid=cast.grid_b1)

    page = signed_in("community_staff_a")
    web.goto("/work/")
    rows = page.get_by_test_id("work-row")
    expect(rows).to_have_count(3)  # community B's item is not ours
    expect(page.get_by_test_id("work-table")).not_to_contain_text("乙社区逾期的事")

    stay = StaysOnPage(page)
    with page.expect_response(htmx("overdue=on")):
        page.get_by_test_id("work-filters").locator("input[name=overdue]").check()
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("work-table")).not_to_contain_text("本周：走访商户")
    expect(rows.filter(has_text=late.title).locator(".badge.bg-red-lt")).to_be_visible()
    assert "overdue=on" in page.url
    stay.check()
    web.screenshot("work-list")

    page.get_by_role("link", name=late.title).click()
    expect(page).to_have_url(web.base_url + f"/work/items/{late.pk}/")
    expect(page.get_by_test_id("item-status")).to_contain_text(late.get_status_display())
    form = page.get_by_test_id("cancel-form")
    assert_shown(form, min_height=60)
    assert_shown(page.get_by_test_id("reassign-form"))

    # The confirmation: dismissing it keeps the item open; accepting cancels it with the reason.
    reason = form.locator("[name=reason]")
    reason.fill("人员已返回原籍，无需核实")
    page.once("dialog", lambda dialog: dialog.dismiss())
    form.get_by_test_id("item-cancel").click()
    expect(page).to_have_url(web.base_url + f"/work/items/{late.pk}/")
    late.refresh_from_db()
    assert late.is_open
    page.once("dialog", lambda dialog: dialog.accept())
    form.get_by_test_id("item-cancel").click()
    expect(page.get_by_test_id("item-outcome")).to_have_text("人员已返回原籍，无需核实")
    expect(page.get_by_test_id("cancel-form")).to_have_count(0)
    late.refresh_from_db()
    assert late.status == "cancelled" and not late.is_open
    assert AuditEntry.objects.filter(reason="人员已返回原籍，无需核实").exists()
    assert WorkItem.objects.get(pk=late2.pk).is_open  # the other one is untouched
    web.screenshot("work-item")
