"""API keys as the command centre: create one (the raw key shown once), revoke it after a confirmation;
then the auditor finds both acts in the audit log, labelled, and filters it by action."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from playwright.sync_api import expect

from jiedao.core.audit import action_label
from jiedao.org.models import ApiKey

from .helpers import assert_shown

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _label(code: str) -> str:
    with translation.override("zh-hans"):  # the browser's language, the app's default
        return str(action_label(code))


def test_create_and_revoke_a_key_then_audit_shows_both(web: Any, cast: Any, signed_in: Any) -> None:
    page = signed_in("command")
    web.goto("/api-keys/")
    page.get_by_test_id("api-key-new").click()
    form = page.get_by_test_id("api-key-form")
    form.locator("[name=name]").fill("市健康码平台")
    form.locator("[name=role]").select_option("community_staff")
    form.locator("[name=unit]").select_option(f"community:{cast.community_a.pk}")
    form.get_by_test_id("submit").click()  # no permission ticked: the form says so and creates nothing
    expect(page.get_by_test_id("error-permissions")).to_be_visible()
    assert not ApiKey.objects.exists()
    form.locator("input[name=permissions][value='registry.read']").check()
    form.get_by_test_id("submit").click()

    raw = page.get_by_test_id("raw-key").input_value()
    key = ApiKey.objects.get()
    assert key.name == "市健康码平台" and key.permissions == ["registry.read"]
    assert raw.startswith(key.prefix) and len(raw) > len(key.prefix) + 16
    page.get_by_test_id("done").click()
    expect(page).to_have_url(web.base_url + "/api-keys/")
    row = page.get_by_test_id("api-key-row").filter(has_text="市健康码平台")
    expect(row).to_contain_text(key.prefix)
    expect(page.locator("body")).not_to_contain_text(raw)  # shown once, never again
    web.screenshot("api-keys")

    # Revoke: a confirmation page first; cancelling changes nothing.
    row.get_by_test_id("revoke-key").click()
    expect(page.get_by_test_id("confirm-question")).to_contain_text("市健康码平台")
    assert_shown(page.get_by_test_id("confirm-form"))
    page.locator("[data-testid=confirm-form] a.btn").click()
    expect(page).to_have_url(web.base_url + "/api-keys/")
    key.refresh_from_db()
    assert key.revoked_at is None
    row.get_by_test_id("revoke-key").click()
    page.fill("#id_reason", "平台已停用")
    page.get_by_test_id("confirm").click()
    expect(page).to_have_url(web.base_url + "/api-keys/")
    expect(row.get_by_test_id("revoke-key")).to_have_count(0)
    expect(row.locator(".badge.bg-danger-lt")).to_be_visible()
    key.refresh_from_db()
    assert key.revoked_at is not None

    # The auditor sees both acts with their labels, and narrows the log to revocations.
    web.context.clear_cookies()
    page = signed_in("auditor")
    web.goto("/audit/")
    created, revoked = _label("org.create_api_key"), _label("org.revoke_api_key")
    assert created != "org.create_api_key" and revoked != "org.revoke_api_key"  # both have a label
    body = page.locator("table tbody")
    expect(body.locator("tr").filter(has_text=created)).to_have_count(1)
    revoked_row = body.locator("tr").filter(has_text=revoked)
    expect(revoked_row).to_have_count(1)
    expect(revoked_row).to_contain_text("平台已停用")
    page.fill("input[name=action]", "org.revoke_api_key")
    page.locator("button", has_text="筛选").click()
    expect(page).to_have_url(web.base_url + "/audit/?action=org.revoke_api_key&actor=")
    expect(body.locator("tr")).to_have_count(1)
    expect(body).to_contain_text(revoked)
    expect(body).not_to_contain_text(created)
    web.screenshot("audit-log")
