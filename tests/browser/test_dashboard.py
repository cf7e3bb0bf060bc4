"""The command centre's dashboard: a card per module with counts from the whole subdistrict."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.places.actions import do_create_place
from jiedao.registry.tests.factories import make_household
from jiedao.work.actions import do_create_work_item

from .helpers import assert_shown

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _card(page: Any, href: str) -> Any:
    return page.locator(f"[data-testid=card][href='{href}']")


def test_command_sees_counts_and_follows_a_card(web: Any, cast: Any, signed_in: Any) -> None:
    make_household(cast.community_a, cast.grid_a1, members=3, care_tags={0: ["elderly_alone"]})
    make_household(cast.community_a, cast.grid_a2, members=2)
    make_household(cast.community_b, cast.grid_b1, members=1, care_tags={0: ["disabled"]})
    for kind, name, community in (
        ("pharmacy", "甲一大药房", cast.community_a), ("pharmacy", "乙社区药店", cast.community_b),
        ("clinic", "龙河诊所", cast.community_a),
    ):  # fmt: skip
        do_create_place(actor=None, kind=kind, name=name, community=community)
    now = timezone.now()
    late = do_create_work_item(
        actor=None, kind="test.visit", title="逾期：核实返乡人员", due_at=now - dt.timedelta(hours=5),
        community=cast.community_b, grid=cast.grid_b1, role="grid_worker",
    )  # fmt: skip
    do_create_work_item(
        actor=None, kind="test.visit", title="本周：走访商户", due_at=now + dt.timedelta(days=2),
        community=cast.community_a, grid=cast.grid_a1, role="grid_worker",
    )  # fmt: skip

    page = signed_in("command")
    expect(page).to_have_url(web.base_url + "/")
    cards = page.get_by_test_id("card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 8, "the command view shows register, work, places and staff cards"
    web.screenshot("dashboard")  # before the checks, so a failure leaves the picture behind
    expected = {
        "/registry/households/": "3",
        "/registry/persons/": "6",
        "/registry/persons/?care_tag=any": "2",
        "/places/": "3",
        "/places/?kind=pharmacy": "2",
        "/places/?kind=clinic": "1",
        "/work/?status=open_any": "2",
        "/work/?overdue=on": "1",
    }
    for href, value in expected.items():
        card = _card(page, href)
        expect(card.locator(".h1")).to_have_text(value)
        assert_shown(card)

    _card(page, "/work/?overdue=on").click()
    expect(page).to_have_url(web.base_url + "/work/?overdue=on")
    expect(page.get_by_text(late.title)).to_be_visible()
    expect(page.get_by_text("本周：走访商户")).to_have_count(0)
