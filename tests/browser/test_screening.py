"""Screening end to end in a real browser: the command centre receives a pushed list (upload, check,
receive); the grid worker finds the person on Today on a phone, verifies them and the protocol
classifies them; a community hands a person back and the dispatcher sends them on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.registry.tests.factories import make_household, mobile, resident_id
from jiedao.screening.choices import KeyPersonStatus
from jiedao.screening.models import KeyPerson
from jiedao.screening.tests.helpers import HEADER, receive, xlsx

from .helpers import htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _resident(cast: Any, grid: Any = None) -> Any:
    hh = make_household(cast.community_a, grid=grid or cast.grid_a1)
    return hh.residents.select_related("person").first().person


def test_list_reaches_the_grid_worker_who_verifies_on_a_phone(
    web: Any, cast: Any, signed_in: Any, tmp_path: Any
) -> None:
    person = _resident(cast)
    rows = [
        HEADER,
        [1, person.name, person.id_number, "", "上海", "", "", "密接"],
        [2, "外地来客", resident_id(), mobile(), "吉林", "", "某市某区", "次密接"],
    ]
    file = tmp_path / "密接名单.xlsx"
    file.write_bytes(xlsx(rows))

    page = signed_in("command")
    web.goto("/screening/lists/new")
    page.fill("#id_title", "6月1日密接及次密接名单")
    page.select_option("#id_source", "close_contact")
    page.set_input_files("#id_file", str(file))
    web.screenshot("screening-list-new")
    page.click("[data-testid=upload]")
    expect(page.locator("[data-testid=dry-run-ok]")).to_be_visible()
    expect(page.locator("[data-testid=preview]")).not_to_contain_text(person.id_number)
    web.screenshot("screening-list-check")
    page.click("[data-testid=commit]")
    expect(page.locator("[data-stat=received]")).to_have_text("2")
    expect(page.locator("[data-stat=routed]")).to_have_text("1")
    web.screenshot("screening-list")
    web.goto("/screening/lists/")
    row = page.locator("[data-testid=list-row]", has_text="6月1日密接及次密接名单")
    expect(row).to_contain_text("2")
    web.screenshot("screening-lists")
    row.locator("a").first.click()
    expect(page.locator("[data-stat=received]")).to_have_text("2")
    web.goto("/screening/")
    expect(page.locator("[data-testid=key-person-row]")).to_have_count(2)
    web.screenshot("screening-key-persons")
    web.goto("/screening/dispatch/")
    expect(page.locator("[data-testid=dispatch-row]")).to_contain_text("外地来客")

    # The grid worker, on a phone.
    web.context.clear_cookies()
    page.set_viewport_size(PHONE)
    page = signed_in("grid_worker_a")
    expect(page.locator("[data-testid=work-subject]", has_text=person.name)).to_be_visible()
    web.screenshot("screening-today")
    page.set_viewport_size(PHONE)
    page.locator("[data-testid=work-subject]", has_text=person.name).first.click()
    expect(page.locator("[data-testid=category]")).to_contain_text("密切接触者")
    page.locator("[data-testid=verify-open]").last.click()
    page.click("[data-testid=outcome-reached_in_area]")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    with page.expect_response(htmx("/proposal")):
        page.fill("#id_last_exposure", yesterday.isoformat())
        page.locator("#id_last_exposure").dispatch_event("change")
    expect(page.locator("[data-testid=category-close_contact] input")).to_be_checked()
    expect(page.locator("[data-testid=proposal]")).to_contain_text(timezone.localdate().strftime("%m-%d"))
    web.screenshot("screening-verify")
    page.set_viewport_size(PHONE)
    page.click("[data-testid=verify-submit]")
    expect(page.locator("[data-testid=classified]")).to_contain_text("密切接触者")
    web.screenshot("screening-key-person")
    kp = KeyPerson.objects.get(person=person)
    assert kp.status == KeyPersonStatus.CLASSIFIED
    assert kp.measure_start == timezone.localdate() and kp.measure_end == timezone.localdate() + dt.timedelta(
        days=9
    )


def test_a_community_hands_back_and_the_dispatcher_routes(web: Any, cast: Any, signed_in: Any) -> None:
    person = _resident(cast)
    receive(cast["command"], xlsx([HEADER, [1, person.name, person.id_number, "", "", "", "", ""]]))
    kp = KeyPerson.objects.get()
    page = signed_in("community_staff_a")
    web.goto(f"/screening/key-persons/{kp.pk}/")
    page.fill("[data-testid=hand-back-form] input[name=reason]", "两年前已搬往中和街道")
    page.click("[data-testid=hand-back]")
    expect(page).to_have_url(web.base_url + "/screening/")
    web.context.clear_cookies()
    page = signed_in("command")
    web.goto("/screening/dispatch/")
    row = page.locator("[data-testid=dispatch-row]", has_text=person.name)
    expect(row.locator("[data-testid=handed-back]")).to_contain_text("两年前已搬往中和街道")
    web.screenshot("screening-dispatch")
    row.locator("select[name=community]").select_option(str(cast.community_b.pk))
    row.locator("select[name=grid]").select_option(str(cast.grid_b1.pk))
    row.locator("[data-testid=route]").click()
    expect(page.locator("[data-testid=empty]")).to_be_visible()
    kp.refresh_from_db()
    assert kp.community_id == cast.community_b.pk and kp.status == KeyPersonStatus.TO_VERIFY
