"""The protocols page in a real browser, at phone and desktop width (screenshots for review)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("jiedao.protocols.tests.urls"),
]


@pytest.mark.usefixtures("flushable_audit_log")
def test_a_grid_worker_reads_the_close_contact_measure_on_a_phone(web: Any, cast: Any) -> None:
    web.login("grid_worker_a")
    web.page.set_viewport_size({"width": 390, "height": 844})
    web.goto("/protocols/")
    row = web.page.locator("[data-testid=protocol-national-9th-edition] [data-testid=category-close_contact]")
    expect(row).to_contain_text("密切接触者")
    expect(row).to_contain_text("7天集中隔离医学观察+3天居家健康监测")
    expect(row).to_contain_text("1, 2, 3, 5, 7")  # test days, inside the measure cell on a phone
    # Secondary columns give way on a phone; the table does not overflow the page.
    expect(row.locator("td.jd-hide-phone").first).to_be_hidden()
    width = web.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    web.screenshot("protocols-list")
