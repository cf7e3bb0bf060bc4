"""The persons list filtered by care tag with HTMX, then one person's page with the ID masked."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.registry.models import Person
from jiedao.registry.tests.factories import make_household

from .helpers import StaysOnPage, assert_shown, htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_persons_by_care_tag_and_open_one(web: Any, cast: Any, signed_in: Any) -> None:
    make_household(cast.community_a, cast.grid_a1, members=3, care_tags={0: ["elderly_alone"], 2: ["infant"]})
    make_household(cast.community_a, cast.grid_a2, members=2, care_tags={1: ["disabled"]})
    make_household(cast.community_b, cast.grid_b1, members=1, care_tags={0: ["elderly_alone"]})
    alone = Person.objects.get(community=cast.community_a, care_tags__kind="elderly_alone")

    page = signed_in("community_staff_a")
    web.goto("/registry/persons/")
    links = page.get_by_test_id("person-link")
    expect(links).to_have_count(5)  # community B's one resident is out of scope

    stay = StaysOnPage(page)
    with page.expect_response(htmx("care_tag=elderly_alone")):
        page.get_by_test_id("filters").locator("select[name=care_tag]").select_option("elderly_alone")
    expect(links).to_have_count(1)
    expect(links.first).to_have_text(alone.name)
    table = page.get_by_test_id("persons-table")
    expect(table).to_contain_text(alone.id_masked)
    expect(table).not_to_contain_text(alone.id_number)
    assert "care_tag=elderly_alone" in page.url  # shareable
    with page.expect_response(htmx("care_tag=any")):
        page.get_by_test_id("filters").locator("select[name=care_tag]").select_option("any")
    expect(links).to_have_count(3)
    stay.check()
    web.screenshot("persons")

    page.get_by_role("link", name=alone.name).click()
    expect(page).to_have_url(web.base_url + f"/registry/persons/{alone.pk}/")
    card = page.get_by_test_id("person-card")
    expect(card.get_by_test_id("masked-id")).to_have_text(alone.id_masked)
    expect(page.locator("body")).not_to_contain_text(alone.id_number)
    expect(page.get_by_test_id("care-card").get_by_test_id("care-tag")).to_have_count(1)
    expect(page.get_by_test_id("residencies-card")).to_be_visible()
    assert_shown(card)
    web.screenshot("person")
