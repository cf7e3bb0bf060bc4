"""Closed-loop transfer in a real browser: the community office plans the transfer of a close contact
from the case page; the police liaison, on a phone in the vehicle, records picked up, handed over (with
the site's staff member) and the site's confirmation; the board shows the transfer while it is open and
not after, and the case is then under its measure at the site."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.control import actions
from jiedao.control.models import ControlCase, Transfer
from jiedao.control.tests.access import case_a1

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_office_plans_and_the_escort_closes_the_loop_on_a_phone(web: Any, cast: Any, signed_in: Any) -> None:
    case = case_a1(cast)
    person = case.person
    site = actions.do_save_site(
        actor=None, name="锦江宾馆隔离点", address="锦江区红星路二段 1 号", capacity=3, phone="028-86660000"
    )
    small = actions.do_save_site(
        actor=None, name="天府酒店隔离点", address="高新区天府大道 100 号", capacity=1
    )
    # Another transfer in the same grid, its pick-up an hour and a half overdue: red on the board; it
    # fills the small site.
    late = actions.do_plan_transfer(
        actor=None, case=case_a1(cast), site=small, team="赵强、钱军（民警）", vehicle="川A·99999",
        pickup_at=timezone.now() - dt.timedelta(minutes=90),
    )  # fmt: skip

    page = signed_in("community_staff_a")
    web.goto(f"/control/cases/{case.pk}/")
    form = page.locator("[data-testid=plan-transfer-form]")
    expect(form.locator("select[name=site]")).to_contain_text("锦江宾馆隔离点")
    assert form.locator("input[name=pickup_at]").input_value()  # defaults to an hour from now
    form.locator("select[name=site]").select_option(str(site.pk))
    form.locator("input[name=team]").fill("张伟、李娜（民警）")
    form.locator("input[name=vehicle]").fill("川a·12345")
    web.screenshot("transfers-plan")
    form.locator("[data-testid=plan-transfer]").click()
    card = page.locator("[data-testid=current-transfer]")
    expect(card).to_contain_text("川A·12345")
    expect(page.locator("[data-testid=plan-transfer-form]")).to_have_count(0)
    web.screenshot("transfers-case-card")
    transfer = Transfer.objects.get(case=case)

    web.goto("/control/transfers/")
    expect(page.locator("[data-testid=transfer-row]")).to_have_count(2)
    expect(page.locator("[data-testid=late-count]")).to_contain_text("1")
    expect(page.locator("[data-testid=transfer-row][data-late='1']")).to_contain_text(late.case.person.name)
    web.screenshot("transfers-board")
    web.goto("/control/sites/")
    expect(page.locator("[data-testid=site-row]")).to_have_count(2)
    expect(page.locator("[data-testid=site-row][data-full='1']")).to_contain_text("天府酒店隔离点")
    web.screenshot("transfers-sites")

    # The escort, on a phone in the vehicle.
    web.context.clear_cookies()
    page.set_viewport_size(PHONE)
    page = signed_in("police_a")
    web.goto("/control/transfers/")
    page.set_viewport_size(PHONE)
    page.locator("[data-testid=transfer-row]", has_text=person.name).locator("a").click()
    expect(page.locator("[data-testid=person-name]")).to_have_text(person.name)
    expect(page.locator("[data-testid=pickup-address]")).to_have_text(case.household.address)
    web.screenshot("transfers-transfer-planned")
    page.set_viewport_size(PHONE)
    button = page.locator("[data-testid=next-step]")
    box = button.bounding_box()
    assert box and box["width"] > 300 and box["height"] >= 44, box  # a thumb-sized button on a phone
    button.click()
    expect(page.locator("[data-testid=step-picked_up]")).to_have_attribute("data-done", "1")
    page.fill("[data-testid=received-by]", "陈芳")
    page.set_viewport_size(PHONE)
    web.screenshot("transfers-transfer-on-the-road")
    page.set_viewport_size(PHONE)
    page.click("[data-testid=next-step]")
    expect(page.locator("[data-testid=step-handed_over]")).to_contain_text("陈芳")
    web.goto("/control/transfers/")
    expect(page.locator("[data-testid=transfer-row]", has_text=person.name)).to_have_count(1)
    web.goto(f"/control/transfers/{transfer.pk}/")
    page.set_viewport_size(PHONE)
    page.click("[data-testid=next-step]")
    expect(page.locator("[data-testid=loop-closed]")).to_be_visible()
    expect(page.locator("[data-testid=step-confirmed]")).to_have_attribute("data-done", "1")
    web.screenshot("transfers-transfer-closed")

    web.goto("/control/transfers/")
    expect(page.locator("[data-testid=transfer-row]")).to_have_count(1)
    expect(page.locator("[data-testid=transfers-table]")).not_to_contain_text(person.name)
    case.refresh_from_db()
    assert case.status == "active" and case.site_id == site.pk
    web.goto(f"/control/cases/{case.pk}/")
    expect(page.locator("[data-testid=case-site]")).to_contain_text("锦江宾馆隔离点")
    expect(page.locator("[data-testid=history]")).to_contain_text("陈芳")
    web.screenshot("transfers-case-done")
    assert ControlCase.objects.get(pk=case.pk).status == "active"

    # The command centre adds a site; a capacity that is not a number is refused on its field.
    web.context.clear_cookies()
    page = signed_in("command")
    web.goto("/control/sites/")
    page.click("[data-testid=site-add]")
    page.fill("#id_name", "温江方舱隔离点")
    page.fill("#id_address", "温江区光华大道 8 号")
    page.fill("#id_capacity", "两百")
    page.click("[data-testid=submit]")
    expect(page.locator("[data-testid=error-capacity]")).to_be_visible()
    web.screenshot("transfers-site-form")
    page.fill("#id_capacity", "200")
    page.click("[data-testid=submit]")
    expect(page.locator("[data-testid=site-row]")).to_have_count(3)
    web.screenshot("transfers-sites-command")
