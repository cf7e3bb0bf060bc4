"""Out of scope reads as "not found": a grid worker opening another grid's records gets the 404 page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.registry.tests.factories import make_household

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_grid_worker_gets_the_not_found_page_for_another_grid(web: Any, cast: Any, signed_in: Any) -> None:
    own = make_household(cast.community_a, cast.grid_a1, members=1, compound="甲一小区")
    other_grid = make_household(cast.community_a, cast.grid_a2, members=1, compound="甲二小区")
    other_community = make_household(cast.community_b, cast.grid_b1, members=2, compound="乙一小区")
    page = signed_in("grid_worker_a")

    response = web.goto(f"/registry/households/{own.pk}/")
    assert response.status == 200
    expect(page.get_by_test_id("member-row")).to_have_count(1)

    response = web.goto(f"/registry/households/{other_community.pk}/")
    assert response.status == 404
    expect(page.get_by_test_id("error-message")).to_be_visible()
    expect(page.locator(".empty-title")).to_have_text("404")
    body = page.locator("body")
    expect(body).not_to_contain_text("乙一小区")  # nothing of the record leaks into the page
    expect(body).not_to_contain_text(other_community.file_no)
    web.screenshot("not-found")

    person = other_community.residents.select_related("person").first().person
    assert web.goto(f"/registry/persons/{person.pk}/").status == 404
    assert web.goto(f"/registry/households/{other_grid.pk}/").status == 404  # same community, other grid

    # The way back works: the error page's button leads home (Today for a grid worker).
    page.locator(".empty-action a").click()
    expect(page).to_have_url(web.base_url + "/work/today/")
