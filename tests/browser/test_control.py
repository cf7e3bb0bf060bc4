"""Control in a real browser: the community office puts a verified close contact under control, reads
the protocol's schedule, starts the measure with its basis, and previews a change of measure before
applying it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.control.models import ControlCase
from jiedao.registry.tests.factories import make_household
from jiedao.screening.actions import do_verify_key_person
from jiedao.screening.models import KeyPerson
from jiedao.screening.tests.helpers import HEADER, receive, xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def verified(cast: Any, pushed_as: str, category: str) -> KeyPerson:
    """A resident of grid A1 pushed as `pushed_as` and verified as `category`."""
    hh = make_household(cast.community_a, cast.grid_a1)
    person = hh.residents.select_related("person").first().person
    receive(cast["command"], xlsx([HEADER, [1, person.name, person.id_number, "", "", "", "", pushed_as]]))
    kp = KeyPerson.objects.get()
    do_verify_key_person(actor=None, kp=kp, outcome="reached_in_area", category=category)
    kp.refresh_from_db()
    return kp


def test_office_opens_starts_and_changes_a_case(web: Any, cast: Any, signed_in: Any) -> None:
    kp = verified(cast, "密接", "close_contact")
    person = kp.person

    page = signed_in("community_staff_a")
    web.goto("/control/to-open/")
    row = page.locator("[data-testid=to-open-row]", has_text=person.name)
    web.screenshot("control-to-open")
    row.locator("[data-testid=open-case]").click()
    expect(page.locator("[data-testid=category]")).to_contain_text("密切接触者")
    expect(page.locator("[data-testid=test-day]")).to_have_count(6)
    expect(page.locator("[data-testid=today]")).to_be_visible()
    web.screenshot("control-case")
    page.fill("[data-testid=start-card] input[name=basis]", "已闭环转运至隔离酒店 512 房")
    page.click("[data-testid=start]")
    expect(page.locator("[data-testid=history]")).to_contain_text("已闭环转运至隔离酒店 512 房")

    page.click("[data-testid=change-measure]")
    page.select_option("#id_category", "secondary_contact")
    page.fill("#id_basis", "流调复核为次密接")
    page.click("[data-testid=preview]")
    expect(page.locator("[data-testid=new-schedule]")).to_contain_text("居家隔离")
    web.screenshot("control-measure")
    assert ControlCase.objects.get().category == "close_contact"
    page.click("[data-testid=confirm]")
    expect(page.locator("[data-testid=category]")).to_contain_text("密接的密接")
    web.goto("/control/")
    expect(page.locator("[data-testid=case-row]")).to_have_count(1)
    web.screenshot("control-cases")


def test_office_releases_on_the_last_day_and_prints_the_notice(web: Any, cast: Any, signed_in: Any) -> None:

    from jiedao.control.actions import do_open_case, do_start_case
    from jiedao.control.tests.helpers import end_today, pass_tests

    kp = verified(cast, "密接", "close_contact")
    person = kp.person
    case = do_start_case(actor=None, case=do_open_case(actor=None, key_person=kp), basis="已到达隔离点")
    case = end_today(case)  # today is the plan's last day
    pass_tests(case)

    page = signed_in("community_staff_a")
    web.goto(f"/control/cases/{case.pk}/")
    page.fill("[data-testid=release-card] input[name=basis]", "核酸均为阴性，无症状")
    page.once("dialog", lambda d: d.accept())
    page.click("[data-testid=release]")
    expect(page.locator("[data-testid=notice]")).to_be_visible()
    page.click("[data-testid=notice]")
    expect(page.locator("[data-testid=release-notice]")).to_contain_text("核酸均为阴性，无症状")
    expect(page.locator("[data-testid=release-notice]")).to_contain_text(person.name)
    web.screenshot("control-release-notice")
    assert ControlCase.objects.get().status == "released"


def test_office_names_the_care_team_and_the_volunteer_sees_the_person_on_today(
    web: Any, cast: Any, signed_in: Any
) -> None:
    from jiedao.control.actions import do_open_case
    from jiedao.control.teams import slots

    kp = verified(cast, "次密接", "secondary_contact")
    person = kp.person
    case = do_open_case(actor=None, key_person=kp)

    page = signed_in("community_staff_a")
    web.goto(f"/control/cases/{case.pk}/")
    expect(page.locator("[data-testid=team-missing]")).to_be_visible()
    for slot in slots():
        page.select_option(f"#team-{slot}", str(cast[f"{slot}_a"].pk))
    page.click("[data-testid=team-save]")
    expect(page.locator("[data-testid=team-missing]")).to_have_count(0)
    page.fill("[data-testid=start-card] input[name=basis]", "五包一到位，门磁已装")
    page.click("[data-testid=start]")
    expect(page.locator("[data-testid=history]")).to_contain_text("五包一到位")
    web.screenshot("control-team")

    web.context.clear_cookies()
    page.set_viewport_size({"width": 390, "height": 844})
    page = signed_in("volunteer_a")
    expect(page.locator("[data-testid=my-case]")).to_contain_text(person.name)
    web.screenshot("control-today-volunteer")
    assert ControlCase.objects.get().status == "active"


def test_a_person_checks_in_through_their_link_on_a_phone(web: Any, cast: Any, signed_in: Any) -> None:
    from jiedao.control.actions import do_open_case, do_start_case

    kp = verified(cast, "密接", "close_contact")
    person = kp.person
    case = do_start_case(actor=None, case=do_open_case(actor=None, key_person=kp), basis="已到隔离点")

    page = signed_in("community_staff_a")
    web.goto(f"/control/cases/{case.pk}/")
    page.click("[data-testid=issue-link]")
    url = page.locator("[data-testid=checkin-url]").get_attribute("href")
    assert url and "/c/" in url
    shots = web.screenshot("control-case-link")[0].parent

    stranger = web.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    phone = stranger.new_page()
    phone.goto(url)
    expect(phone.locator("[data-testid=self-checkin]")).not_to_contain_text(person.name)
    phone.screenshot(path=str(shots / "control-self-checkin-phone.png"), full_page=True)
    phone.fill("input[name=temperature]", "38.1")
    phone.check("input[value=cough]")
    phone.click("[data-testid=checkin-submit]")
    expect(phone.locator("[data-testid=checkin-abnormal]")).to_be_visible()
    phone.screenshot(path=str(shots / "control-self-checkin-done-phone.png"), full_page=True)
    stranger.close()

    web.goto(f"/control/cases/{case.pk}/")
    expect(page.locator("[data-testid=checkin-row]")).to_have_count(1)
    expect(page.locator("[data-testid=temperature-chart]")).to_be_visible()
    web.screenshot("control-case-checkins")
