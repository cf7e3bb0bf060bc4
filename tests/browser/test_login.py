"""Signing in and out, each role's landing page, and the 中文/EN switch."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.core.testing import CAST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _submit_login(page: Any, username: str, password: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_load_state("domcontentloaded")


def test_wrong_password_then_grid_worker_lands_on_today_and_signs_out(web: Any, cast: Any) -> None:
    page = web.page
    web.goto("/login/")
    _submit_login(page, "grid_worker_a", "not-the-password")
    expect(page.get_by_test_id("login-error")).to_be_visible()
    assert page.url.endswith("/login/")
    assert page.input_value("#id_username") == "grid_worker_a"  # the username is kept for the retry
    web.screenshot("login-error")

    _submit_login(page, "grid_worker_a", CAST_PASSWORD)
    expect(page).to_have_url(web.base_url + "/work/today/")
    expect(page.get_by_test_id("today-counts")).to_be_visible()

    # Sign out through the account menu; the Today page then asks for a sign-in again.
    page.get_by_test_id("account-menu").click()
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(web.base_url + "/login/")
    web.goto("/work/today/")
    expect(page).to_have_url(web.base_url + "/login/?next=/work/today/")
    expect(page.get_by_test_id("login-needed")).to_be_visible()


def test_command_lands_on_the_dashboard(web: Any, cast: Any) -> None:
    page = web.page
    web.goto("/login/")
    web.screenshot("login")
    _submit_login(page, "command", CAST_PASSWORD)
    expect(page).to_have_url(web.base_url + "/")
    expect(page.get_by_test_id("card").first).to_be_visible()


def test_language_switch_changes_the_ui_language(web: Any, cast: Any) -> None:
    page = web.page
    web.goto("/login/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "zh-hans")
    page.click("[data-testid=login-submit]")  # empty form: Django's own (translated) required message
    expect(page.locator(".invalid-feedback").first).to_contain_text("这个字段是必填项")

    page.get_by_test_id("lang-switch").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("lang-switch")).to_have_text("中文")
    page.click("[data-testid=login-submit]")
    expect(page.locator(".invalid-feedback").first).to_contain_text("This field is required")

    # The choice sticks after signing in, and switching back works from inside the app.
    _submit_login(page, "command", CAST_PASSWORD)
    expect(page).to_have_url(web.base_url + "/")
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("#jd-nav")).to_contain_text("Dashboard")
    page.get_by_test_id("lang-switch").click()
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(web.base_url + "/")
