"""Places: filter the list by kind with HTMX, open a place, open its printable venue-code poster."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.places.actions import do_create_place

from .helpers import StaysOnPage, assert_shown, htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _places(cast: Any) -> dict[str, Any]:
    a, a1, a2 = cast.community_a, cast.grid_a1, cast.grid_a2
    rows = [
        ("pharmacy", "甲一大药房", a, a1, "龙河路 1 号", "王店长", "13800138000"),
        ("pharmacy", "仁济堂药店", a, a2, "龙河路 88 号", "", ""),
        ("clinic", "龙河社区诊所", a, a1, "滨江西街 12 号", "李医生", "13912345678"),
        ("supermarket", "惠民超市", a, None, "南湖大道 300 号", "", ""),
        ("restaurant", "川味小馆", a, a2, "南湖大道 302 号", "", ""),
        ("pharmacy", "乙社区大药房", cast.community_b, cast.grid_b1, "滨江路 5 号", "", ""),
    ]
    places = {}
    for kind, name, comm, grid, addr, contact, phone in rows:
        places[name] = do_create_place(
            actor=None, kind=kind, name=name, community=comm, grid=grid, address=addr,
            contact_name=contact, contact_phone=phone,
        )  # fmt: skip
    return places


def test_filter_places_by_kind_open_one_and_its_poster(web: Any, cast: Any, signed_in: Any) -> None:
    places = _places(cast)
    page = signed_in("community_staff_a")
    web.goto("/places/")
    rows = page.get_by_test_id("place-row")
    expect(rows).to_have_count(5)  # community B's pharmacy is out of scope
    expect(page.get_by_text("乙社区大药房")).to_have_count(0)

    stay = StaysOnPage(page)
    with page.expect_response(htmx("kind=pharmacy")):
        page.locator("[data-testid=place-filters] select[name=kind]").select_option("pharmacy")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("place-table")).to_contain_text("甲一大药房")
    expect(page.get_by_test_id("place-table")).to_contain_text("仁济堂药店")
    expect(page.get_by_test_id("place-table")).not_to_contain_text("龙河社区诊所")
    assert "kind=pharmacy" in page.url  # the filter is in the address bar, so it can be shared
    stay.check()
    web.screenshot("places")

    # Sorting by name inside the filtered list keeps the filter.
    with page.expect_response(htmx("sort=")):
        page.locator("[data-testid=place-table] thead a").first.click()
    expect(rows).to_have_count(2)
    stay.check()

    place = places["甲一大药房"]
    page.get_by_role("link", name="甲一大药房").click()
    expect(page).to_have_url(web.base_url + f"/places/{place.pk}/")
    expect(page.get_by_test_id("venue-code")).to_have_text(place.venue_code)
    expect(page.get_by_test_id("place-address")).to_have_text("龙河路 1 号")
    assert_shown(page.get_by_test_id("place-qr"), min_height=150)
    web.screenshot("place")

    page.get_by_test_id("place-poster").click()
    expect(page).to_have_url(web.base_url + f"/places/{place.pk}/poster/")
    qr = page.locator("[data-testid=poster-qr] svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 200 and abs(box["width"] - box["height"]) < 2, box
    expect(page.get_by_test_id("poster-code")).to_have_text(place.venue_code)
    expect(page.get_by_test_id("poster-url")).to_contain_text(f"/v/{place.venue_code}")
    expect(page.get_by_test_id("poster")).to_contain_text("甲一大药房")
    assert_shown(page.get_by_test_id("poster"), min_height=400)
    web.screenshot("place-poster")
