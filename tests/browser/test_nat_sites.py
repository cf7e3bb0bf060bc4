"""Sampling sites in a real browser: a sampler sets the site's queue with the +/− buttons on a phone,
and the public map (no sign-in) shows it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.nat.actions import do_save_site, do_set_site_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_sampler_sets_the_queue_and_the_public_sees_it(web: Any, cast: Any, signed_in: Any) -> None:
    site = do_save_site(
        actor=None, name="甲社区广场采样点", community=cast.community_a, lanes=4, hours="07:00-20:00",
        address="龙河路 8 号", lat=30.52, lng=104.07,
    )  # fmt: skip
    site.staff.add(cast["sampler_a"])
    for community, west in ((cast.community_a, 104.0), (cast.community_b, 104.08)):
        community.geometry = {"type": "Polygon", "coordinates": [[[west, 30.45], [west + 0.08, 30.45],
                              [west + 0.08, 30.55], [west, 30.55], [west, 30.45]]]}  # fmt: skip
        community.save(update_fields=["geometry"])
    other = do_save_site(actor=None, name="乙社区小学采样点", community=cast.community_b, lat=30.5, lng=104.1)
    do_set_site_status(actor=None, site=other, status="paused", queue_length=3)

    page = signed_in("sampler_a")
    page.set_viewport_size(PHONE)
    web.goto("/nat/my-sites/")
    expect(page.locator("[data-testid=status-form]")).to_be_visible()  # one site: straight to it
    queue = page.locator("[data-testid=queue-input]")
    page.get_by_role("button", name="+10", exact=True).click()
    page.get_by_role("button", name="+10", exact=True).click()
    page.get_by_role("button", name="+1", exact=True).click()
    expect(queue).to_have_value("21")
    web.screenshot("nat-site-status")
    page.locator("[data-testid=save-status]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    site.refresh_from_db()
    assert site.queue_length == 21

    web.context.clear_cookies()  # the public map needs no sign-in
    web.goto("/nat/sites/")
    row = page.locator("[data-testid=site-row]", has_text="甲社区广场采样点")
    expect(row.locator("[data-testid=queue]")).to_have_text("21")
    expect(page.locator("[data-testid=site-row]")).to_have_count(2)
    expect(page.locator("[data-testid=sites-map] svg")).to_be_visible()
    web.screenshot("nat-public-sites")
