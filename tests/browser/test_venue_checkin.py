"""A visitor at phone width scans a venue's code, checks in with the form (after fixing a mistyped ID),
sees the confirmation a door guard glances at, then checks in at the next venue with one tap."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.core.identity import id_check_char
from jiedao.places.actions import do_create_place
from jiedao.places.models import VenueCheckin

from .helpers import assert_shown

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
BODY = "51011619800101123"
ID = BODY + id_check_char(BODY)
WRONG_CHECK = BODY + ("0" if ID[-1] != "0" else "1")
MASKED = ID[:4] + "*" * 10 + ID[-4:]


def _venues(cast: Any) -> tuple[Any, Any]:
    make = lambda kind, name: do_create_place(  # noqa: E731
        actor=None, kind=kind, name=name, community=cast.community_a, grid=cast.grid_a1, address="龙河路 1 号",
        contact_name="王店长", contact_phone="13800138000",
    )  # fmt: skip
    return make("pharmacy", "甲一大药房"), make("supermarket", "惠民超市（华阳店）")


def test_a_visitor_checks_in_then_checks_in_at_the_next_venue_with_one_tap(web: Any, cast: Any) -> None:
    pharmacy, market = _venues(cast)
    page = web.page
    page.set_viewport_size(PHONE)
    web.goto(f"/v/{pharmacy.venue_code}")
    expect(page.get_by_test_id("venue-name")).to_have_text("甲一大药房")
    expect(page.get_by_test_id("venue-kind")).to_be_visible()
    expect(page.get_by_test_id("one-tap")).to_have_count(0)
    expect(page.locator("input[name=remember]")).to_be_checked()
    web.screenshot("venue-checkin-form")

    # A mistyped check digit: the error sits under the ID field and nothing typed is lost.
    page.set_viewport_size(PHONE)
    page.fill("input[name=name]", "张三")
    page.fill("input[name=id_number]", WRONG_CHECK)
    page.fill("input[name=phone]", "13912345678")
    page.get_by_test_id("checkin-submit").click()
    expect(page.get_by_test_id("error-id_number")).to_be_visible()
    expect(page.get_by_test_id("error-id_number")).to_contain_text(ID[-1])  # "should be <the right one>"
    expect(page.locator("input[name=name]")).to_have_value("张三")
    expect(page.locator("input[name=id_number]")).to_have_value(WRONG_CHECK)
    expect(page.locator("input[name=phone]")).to_have_value("13912345678")
    assert VenueCheckin.objects.count() == 0
    web.screenshot("venue-checkin-error")

    page.set_viewport_size(PHONE)
    page.fill("input[name=id_number]", ID.lower())  # a lower-case x is fine too
    page.get_by_test_id("checkin-submit").click()
    done = page.get_by_test_id("checkin-done")
    expect(done).to_be_visible()
    expect(page.get_by_test_id("done-venue")).to_have_text("甲一大药房")
    expect(page.get_by_test_id("done-id")).to_have_text(MASKED)
    expect(page.get_by_test_id("done-name")).to_have_text("张*")
    expect(page.get_by_test_id("done-time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    expect(page.get_by_test_id("live-clock")).to_have_text(re.compile(r"\d\d:\d\d:\d\d"))
    assert_shown(done, min_height=300)
    expect(done).not_to_contain_text(ID)
    row = VenueCheckin.objects.get()
    assert row.place_id == pharmacy.pk and row.id_number == ID and row.phone == "13912345678"
    web.screenshot("venue-checkin-done")

    # A reload re-sends the same form: still one check-in.
    page.once("dialog", lambda dialog: dialog.accept())
    page.reload()
    expect(page.get_by_test_id("checkin-done")).to_be_visible()
    assert VenueCheckin.objects.count() == 1

    # The next venue: one tap as the remembered visitor.
    page.set_viewport_size(PHONE)
    web.goto(f"/v/{market.venue_code}")
    tap = page.get_by_test_id("one-tap-submit")
    expect(tap).to_contain_text("张*")
    expect(tap).to_contain_text(f"({MASKED})")
    assert_shown(tap, min_height=44)
    expect(page.get_by_test_id("checkin-form")).to_have_count(0)
    web.screenshot("venue-checkin-one-tap")
    page.set_viewport_size(PHONE)
    tap.click()
    expect(page.get_by_test_id("done-venue")).to_have_text("惠民超市（华阳店）")
    expect(page.get_by_test_id("done-id")).to_have_text(MASKED)
    rows = list(VenueCheckin.objects.order_by("pk"))
    assert [r.place_id for r in rows] == [pharmacy.pk, market.pk]
    assert rows[1].person_key == rows[0].person_key

    # Someone else on the same phone: the form, with "remember me" off so the phone keeps 张三.
    web.goto(f"/v/{market.venue_code}")
    page.get_by_test_id("someone-else").click()
    expect(page.get_by_test_id("checkin-form")).to_be_visible()
    expect(page.locator("input[name=remember]")).not_to_be_checked()
    web.screenshot("venue-checkin-someone-else")

    # "Not me": the phone forgets the visitor and shows the empty form.
    page.get_by_test_id("not-me").click()
    expect(page.get_by_test_id("one-tap")).to_have_count(0)
    expect(page.locator("input[name=name]")).to_have_value("")
    assert not [c for c in web.context.cookies() if c["name"] == "jd_visitor"]
