"""Filing a new place: a wrong credit code is a field error that keeps the input; a good one files it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.places.models import Place

from .helpers import assert_shown

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD_CC = "914403001922038216"  # a published code with a correct check character
BAD_CC = "914403001922038217"


def test_bad_credit_code_then_file_the_place(web: Any, cast: Any, signed_in: Any) -> None:
    page = signed_in("community_staff_a")
    web.goto("/places/new/")
    form = page.get_by_test_id("place-form")
    offered = form.locator("[name=community] option").evaluate_all("os => os.map(o => o.value)")
    assert str(cast.community_a.pk) in offered and str(cast.community_b.pk) not in offered
    form.locator("[name=kind]").select_option("pharmacy")
    form.locator("[name=name]").fill("康宁大药房")
    form.locator("[name=address]").fill("龙河路 18 号")
    form.locator("[name=community]").select_option(str(cast.community_a.pk))
    form.locator("[name=grid]").select_option(str(cast.grid_a1.pk))
    form.locator("[name=contact_name]").fill("赵店长")
    form.locator("[name=contact_phone]").fill("13912345678")
    form.locator("[name=credit_code]").fill(BAD_CC)
    page.get_by_test_id("place-save").click()
    expect(page.get_by_test_id("error-credit_code")).to_contain_text("校验位")  # says what is wrong
    expect(form.locator("[name=name]")).to_have_value("康宁大药房")  # the rest is kept for the retry
    assert not Place.objects.exists()
    assert_shown(page.get_by_test_id("error-credit_code"), min_height=10)
    web.screenshot("place-form")

    form.locator("[name=credit_code]").fill(GOOD_CC)
    page.get_by_test_id("place-save").click()
    place = Place.objects.get()
    expect(page).to_have_url(web.base_url + f"/places/{place.pk}/")
    assert place.credit_code == GOOD_CC and place.community == cast.community_a and place.venue_code
    expect(page.get_by_test_id("venue-code")).to_have_text(place.venue_code)
    expect(page.locator("body")).to_contain_text(place.venue_code)
