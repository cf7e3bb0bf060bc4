"""A round's page in a real browser: coverage by grid with the charts, then the grid's list of
residents not yet sampled on a phone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.nat.actions import do_apply_registrations, do_open_round, do_save_site
from jiedao.nat.tests.test_registration import close_item, open_item, sample_item
from jiedao.registry.models import Resident
from jiedao.registry.tests.factories import make_household

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_round_coverage_and_the_missing(web: Any, cast: Any, signed_in: Any) -> None:
    site = do_save_site(actor=None, name="甲社区广场采样点", community=cast.community_a, grid=cast.grid_a1)
    now = timezone.now()
    rnd = do_open_round(actor=None, name="第一轮全员核酸", starts_at=now - dt.timedelta(hours=3),
                        ends_at=now + dt.timedelta(hours=8), sites=[site])  # fmt: skip
    people = []
    for _ in range(3):
        hh = make_household(cast.community_a, cast.grid_a1, members=3)
        people += [
            r.person for r in Resident.objects.filter(household=hh).select_related("person").order_by("pk")
        ]
    make_household(cast.community_b, cast.grid_b1, members=2)
    s = {"round": rnd, "site": site}
    items = [open_item(s, "HY0001"), *(sample_item(p, "HY0001") for p in people[:6]), close_item("HY0001")]
    assert {a["status"] for a in do_apply_registrations(actor=None, items=items).items} == {"created"}

    page = signed_in("command")
    web.goto(f"/nat/rounds/{rnd.pk}/")
    expect(page.locator("[data-testid=coverage-percent]")).to_have_text("54.5%")  # 6 of 11
    expect(page.locator("[data-testid=coverage-row]")).to_have_count(2)
    expect(page.locator("[data-testid=hourly-chart] svg")).to_be_visible()
    web.screenshot("nat-round")
    page.set_viewport_size(PHONE)
    page.locator("[data-testid=coverage-row]", has_text="甲一网格").locator("a").click()
    expect(page.locator("[data-testid=missing-row]")).to_have_count(3)
    web.screenshot("nat-round-missing")


def test_the_command_centre_adds_a_site_and_opens_a_round(web: Any, cast: Any, signed_in: Any) -> None:
    page = signed_in("command")
    web.goto("/nat/my-sites/")
    page.locator("[data-testid=site-new]").click()
    form = page.locator("[data-testid=site-form]")
    form.locator("input[name=name]").fill("龙河社区广场采样点")
    form.locator("select[name=community]").select_option(str(cast.community_a.pk))
    form.locator("input[name=hours]").fill("07:00-12:00, 14:00-20:00")
    form.locator("input[name=lanes]").fill("4")
    web.screenshot("nat-site-form")
    page.locator("[data-testid=save-site]").click()
    expect(page.locator("[data-testid=status-form]")).to_be_visible()
    web.goto("/nat/my-sites/")  # the offices' list of sites, with the button to add one
    expect(page.locator("[data-testid=my-site]")).to_have_count(1)
    web.screenshot("nat-my-sites")
    web.goto("/nat/rounds/")
    expect(page.locator("[data-testid=empty]")).to_be_visible()
    web.screenshot("nat-rounds-empty")
    page.locator("[data-testid=round-new]").click()
    form = page.locator("[data-testid=round-form]")
    form.locator("input[name=name]").fill("第三轮全员核酸")
    now = timezone.localtime()
    form.locator("input[name=starts_at]").fill(now.strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=ends_at]").fill((now + dt.timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"))
    web.screenshot("nat-round-form")
    page.locator("[data-testid=open-round]").click()
    expect(page.locator("[data-testid=coverage-percent]")).to_have_text("0.0%")
    web.goto("/nat/rounds/")
    expect(page.locator("[data-testid=round-row]")).to_have_count(1)
    web.screenshot("nat-rounds")
