"""Issue 4's walks in a real browser, each step done by the user whose job it is.

1. A secondary contact at home: the office opens the case, names the five-for-one team and starts it; a
   check-in is missed and the doctor sees it; the person asks for food through their personal link on a
   phone (no account); the team's volunteer delivers it; the office enters the last test and releases.
2. A close contact: the command centre adds a quarantine site, the office plans the closed-loop transfer,
   the police liaison records its steps on a phone; check-ins, tests, release and the notice follow.
3. The personal check-in link on a phone: nothing but the two forms, one check-in per slot (a replayed
   POST is refused), a guessed token is "not valid".

Set-up calls the actions, as the other browser tests do; `end_today` moves a plan so that its last day is
today, standing in for the days that pass between the steps."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.control import actions, checkins
from jiedao.control.models import (
    CaseTest,
    CheckinLink,
    ControlCase,
    HealthCheck,
    QuarantineSite,
    SupplyRequest,
    Transfer,
)
from jiedao.control.teams import slots as team_slots
from jiedao.control.tests.helpers import end_today
from jiedao.registry.tests.factories import make_household
from jiedao.screening.actions import do_verify_key_person
from jiedao.screening.models import KeyPerson
from jiedao.screening.tests.helpers import HEADER, receive, xlsx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
# The result label; its Chinese (阴性) arrives with the next translation fill.
NEGATIVE = re.compile("阴性|Negative")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


# ---- helpers ---------------------------------------------------------------------------------------


def verified(cast: Any, pushed_as: str, category: str) -> KeyPerson:
    """A resident of grid A1 pushed as `pushed_as` and verified as `category` (as in test_control.py)."""
    hh = make_household(cast.community_a, cast.grid_a1)
    resident = hh.residents.select_related("person").first()
    assert resident is not None
    person = resident.person
    receive(cast["command"], xlsx([HEADER, [1, person.name, person.id_number, "", "", "", "", pushed_as]]))
    kp = KeyPerson.objects.get(person=person)
    do_verify_key_person(actor=None, kp=kp, outcome="reached_in_area", category=category)
    kp.refresh_from_db()
    return kp


def sign_in_as(web: Any, signed_in: Any, username: str, viewport: dict[str, int] | None = None) -> Any:
    """Sign the current user out (cookies gone) and `username` in."""
    web.context.clear_cookies()
    page = signed_in(username)
    if viewport:
        page.set_viewport_size(viewport)
    return page


def phone_shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)


def assert_fits(page: Any, width: int = PHONE["width"]) -> None:
    """Nothing sticks out sideways: the page scrolls only up and down."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width + 1, f"{page.url} is {scroll} px wide on a {width} px screen"


def assert_top_reachable(page: Any) -> None:
    """Scrolled to the very top, the check-in card starts on the screen (not above it, out of reach)."""
    top = page.evaluate(
        "() => { scrollTo(0, 0); return document.querySelector('[data-testid=self-checkin]').getBoundingClientRect().top; }"
    )
    assert top >= 0, f"the top {-top:.0f} px of the check-in card are above the page, out of reach"


def open_from_to_open(web: Any, page: Any, person: Any) -> ControlCase:
    """The office opens the person's case from the list of key persons waiting for one."""
    web.goto("/control/to-open/")
    row = page.locator("[data-testid=to-open-row]", has_text=person.name)
    expect(row).to_have_count(1)
    row.locator("[data-testid=open-case]").click()
    expect(page.locator("[data-testid=case-card]")).to_be_visible()
    case = ControlCase.objects.get(person=person)
    assert page.url.endswith(f"/control/cases/{case.pk}/"), page.url
    assert case.status == "pending"
    return case


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def link_gone(browser: Any, url: str) -> None:
    """The link answers 404 with the "not valid" page, to a fresh browser with no cookies."""
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    try:
        page = ctx.new_page()
        response = page.goto(url)
        assert response is not None and response.status == 404, response and response.status
        expect(page.locator("[data-testid=link-gone]")).to_be_visible()
        expect(page.locator("form")).to_have_count(0)
    finally:
        ctx.close()


# ---- 1. home quarantine with its care team ---------------------------------------------------------


def test_home_case_team_missed_checkin_supply_and_release(web: Any, cast: Any, signed_in: Any) -> None:
    kp = verified(cast, "次密接", "secondary_contact")
    person = kp.person

    # The office opens the case.
    page = signed_in("community_staff_a")
    case = open_from_to_open(web, page, person)
    assert case.measure_type == "HOME_QUARANTINE"
    # A week has passed since the plan's day 1 (so that check-in slots lie in the past).
    case = end_today(case)
    today = timezone.localdate()
    assert case.end_date == today

    # The office names the five-for-one team and starts the measure.
    web.goto(f"/control/cases/{case.pk}/")
    expect(page.locator("[data-testid=team-missing]")).to_be_visible()
    expect(page.locator("[data-testid=start-card]")).to_be_visible()
    for slot in team_slots():
        page.select_option(f"#team-{slot}", str(cast[f"{slot}_a"].pk))
    page.click("[data-testid=team-save]")
    expect(page.locator("[data-testid=team-missing]")).to_have_count(0)
    assert {m.slot: m.user.username for m in case.team.select_related("user")} == {
        slot: f"{slot}_a" for slot in team_slots()
    }
    page.fill("[data-testid=start-card] input[name=basis]", "五包一到位，已告知居家隔离要求")
    page.click("[data-testid=start]")
    expect(page.locator("[data-testid=history]")).to_contain_text("五包一到位")
    case.refresh_from_db()
    assert case.status == "active"

    # Yesterday's 08:00 check-in never came: the 15-minute job, run three hours later, flags it.
    due = local(today - dt.timedelta(days=1), 8)
    made = actions.do_flag_missed_checkins(now=due + dt.timedelta(hours=3))
    missed = HealthCheck.objects.filter(case=case, missed=True, temperature__isnull=True)
    assert made >= 1 and made == missed.count()
    assert missed.filter(slot_at=due).exists()
    slot_text = f"{due:%m-%d %H:%M}"

    # The doctor sees it on the list of missed and abnormal check-ins, and on Today.
    page = sign_in_as(web, signed_in, "doctor_a")
    web.goto("/control/attention/")
    row = page.locator("[data-testid=attention-row]", has_text=slot_text)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(person.name)
    expect(row).to_contain_text("—")  # no temperature
    web.screenshot("control-walk-attention")
    web.goto("/work/today/")
    card = page.locator("[data-testid=work-card]", has_text=slot_text)
    expect(card).to_have_count(1)
    expect(card).to_contain_text(person.name)
    expect(page.locator("[data-testid=my-case]")).to_contain_text(person.name)
    web.screenshot("control-walk-today-doctor")

    # The office issues the personal check-in link.
    page = sign_in_as(web, signed_in, "community_staff_a")
    web.goto(f"/control/cases/{case.pk}/")
    page.click("[data-testid=issue-link]")
    url = page.locator("[data-testid=checkin-url]").get_attribute("href")
    assert url and "/c/" in url, url
    assert CheckinLink.objects.filter(case=case, revoked_at__isnull=True).count() == 1

    # The person, on their phone, without an account, asks for food.
    stranger = web.browser.new_context(viewport=PHONE, locale="zh-CN")
    try:
        phone = stranger.new_page()
        phone.set_default_timeout(15000)
        phone.goto(url)
        supply = phone.locator("[data-testid=self-supply]")
        expect(supply).to_be_visible()
        supply.locator("select[name=kind]").select_option("food")
        supply.locator("textarea[name=detail]").fill("大米 5 斤、鸡蛋 20 个、青菜")
        supply.locator("[data-testid=supply-submit]").click()
        expect(phone.locator("[data-testid=supply-done]")).to_be_visible()
        assert_fits(phone)
        phone_shot(phone, "control-walk-self-supply-done")
    finally:
        stranger.close()
    req = SupplyRequest.objects.get(case=case)
    assert (req.kind, req.by_self, req.status) == ("food", True, "assigned")
    assert req.assignee == cast["volunteer_a"]  # the team's volunteer

    # The volunteer finds it on the supplies list and delivers it; no health data on the way.
    page = sign_in_as(web, signed_in, "volunteer_a")
    web.goto("/control/supplies/")
    row = page.locator("[data-testid=supply-row]", has_text=person.name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("大米 5 斤")
    web.screenshot("control-walk-supplies")
    row.locator("a").first.click()
    expect(page.locator("[data-testid=supply-detail]")).to_have_text("大米 5 斤、鸡蛋 20 个、青菜")
    expect(page.locator("[data-testid=supply-address]")).to_have_text(case.household.address)
    web.screenshot("control-walk-supply")
    page.fill("input[name=outcome]", "已送到门口：大米、鸡蛋、青菜")
    page.click("[data-testid=supply-deliver]")
    expect(page.locator("[data-testid=supply-outcome]")).to_have_text("已送到门口：大米、鸡蛋、青菜")
    expect(page.locator("[data-testid=supply-deliver]")).to_have_count(0)
    body = page.locator("body").inner_text()
    for health in ("°C", "体温", "Temperature", "症状", "核酸"):
        assert health not in body, f"the volunteer's supply page shows {health!r}"
    expect(page.locator(f"a[href='/control/cases/{case.pk}/']")).to_have_count(0)
    web.screenshot("control-walk-supply-delivered")
    req.refresh_from_db()
    assert req.status == "delivered" and req.delivered_at is not None
    assert req.work_item is not None and req.work_item.status == "done"

    # The office enters the tests: the earlier days' results came in already, today's by hand.
    days = actions.test_days(case)
    assert days and days[-1] == today
    for d in days[:-1]:
        actions.do_record_test(actor=None, case=case, test_date=d, result="negative")
    page = sign_in_as(web, signed_in, "community_staff_a")
    web.goto(f"/control/cases/{case.pk}/")
    expect(page.locator("[data-testid=release-card]")).to_have_count(0)
    expect(page.locator("[data-testid=release-blockers]")).to_contain_text(today.isoformat())
    form = page.locator("[data-testid=test-form]")
    expect(form.locator("select[name=test_date]")).to_have_value(today.isoformat())
    form.locator("select[name=result]").select_option("negative")
    form.locator("input[name=lab]").fill("金域医学检验所")
    form.locator("[data-testid=test-save]").click()
    expect(page.locator("[data-testid=test-row]")).to_have_count(len(days))
    expect(page.locator("[data-testid=test-row]").last).to_contain_text(NEGATIVE)
    expect(page.locator("[data-testid=supplies-card] [data-testid=supply-row]")).to_contain_text("大米")
    assert CaseTest.objects.get(case=case, test_date=today).lab == "金域医学检验所"
    web.screenshot("control-walk-case-tests-supplies")
    web.goto("/control/report/")
    row = page.locator("[data-testid=report-row]", has_text=cast.community_a.name)
    expect(row.locator("td").nth(3)).to_have_text("1")  # under home quarantine
    expect(row.locator("td").nth(6)).to_have_text("1")  # under control
    web.screenshot("control-walk-report")

    # Release, with a confirmation, and the notice.
    web.goto(f"/control/cases/{case.pk}/")
    page.fill("[data-testid=release-card] input[name=basis]", "三次核酸均为阴性，无症状")
    page.once("dialog", lambda d: d.accept())
    page.click("[data-testid=release]")
    expect(page.locator("[data-testid=notice]")).to_be_visible()
    case.refresh_from_db()
    assert case.status == "released" and case.released_at is not None
    page.click("[data-testid=notice]")
    notice = page.locator("[data-testid=release-notice]")
    expect(notice).to_contain_text(person.name)
    expect(notice).to_contain_text("三次核酸均为阴性，无症状")
    web.screenshot("control-walk-release-notice")

    # The personal link ended with the case.
    assert not CheckinLink.objects.filter(case=case, revoked_at__isnull=True).exists()
    link_gone(web.browser, url)


# ---- 2. close contact: transfer to a site, check-ins, tests, release --------------------------------


def test_close_contact_transfer_checkins_tests_and_release(web: Any, cast: Any, signed_in: Any) -> None:
    kp = verified(cast, "密接", "close_contact")
    person = kp.person

    # The command centre adds a quarantine site.
    page = signed_in("command")
    web.goto("/control/sites/add")
    form = page.locator("[data-testid=site-form]")
    form.locator("input[name=name]").fill("锦江宾馆隔离点")
    form.locator("input[name=address]").fill("锦江区红星路二段 1 号")
    form.locator("input[name=phone]").fill("028-86660000")
    form.locator("input[name=capacity]").fill("40")
    web.screenshot("control-walk-site-form")
    form.locator("[data-testid=submit]").click()
    expect(page.locator("[data-testid=site-row]", has_text="锦江宾馆隔离点")).to_have_count(1)
    site = QuarantineSite.objects.get(name="锦江宾馆隔离点")
    assert (site.capacity, site.status) == (40, "open")

    # The office opens the case and plans the transfer.
    page = sign_in_as(web, signed_in, "community_staff_a")
    case = open_from_to_open(web, page, person)
    assert case.measure_type == "CENTRAL_QUARANTINE"
    expect(page.locator("[data-testid=start-card]")).to_be_visible()
    plan = page.locator("[data-testid=plan-transfer-form]")
    plan.locator("select[name=site]").select_option(str(site.pk))
    plan.locator("input[name=team]").fill("张伟、李娜（民警）")
    plan.locator("input[name=vehicle]").fill("川a·12345")
    plan.locator("[data-testid=plan-transfer]").click()
    expect(page.locator("[data-testid=current-transfer]")).to_contain_text("川A·12345")
    transfer = Transfer.objects.get(case=case)
    assert (transfer.status, transfer.site_id, transfer.vehicle) == ("planned", site.pk, "川A·12345")
    web.screenshot("control-walk-transfer-planned-case")

    # The police liaison, on a phone in the vehicle, records each step.
    page = sign_in_as(web, signed_in, "police_a", PHONE)
    web.goto("/control/transfers/")
    page.set_viewport_size(PHONE)
    page.locator("[data-testid=transfer-row]", has_text=person.name).locator("a").first.click()
    expect(page.locator("[data-testid=person-name]")).to_have_text(person.name)
    assert page.url.endswith(f"/control/transfers/{transfer.pk}/"), page.url
    assert_fits(page)
    phone_shot(page, "control-walk-transfer-1-planned")
    page.click("[data-testid=next-step]")
    expect(page.locator("[data-testid=step-picked_up]")).to_have_attribute("data-done", "1")
    assert Transfer.objects.get(pk=transfer.pk).status == "picked_up"
    page.fill("[data-testid=received-by]", "陈芳")
    assert_fits(page)
    phone_shot(page, "control-walk-transfer-2-on-the-road")
    page.click("[data-testid=next-step]")
    expect(page.locator("[data-testid=step-handed_over]")).to_have_attribute("data-done", "1")
    expect(page.locator("[data-testid=step-handed_over]")).to_contain_text("陈芳")
    assert Transfer.objects.get(pk=transfer.pk).status == "handed_over"
    page.click("[data-testid=next-step]")
    expect(page.locator("[data-testid=loop-closed]")).to_contain_text("锦江宾馆隔离点")
    assert_fits(page)
    phone_shot(page, "control-walk-transfer-3-confirmed")
    transfer.refresh_from_db()
    assert transfer.status == "confirmed" and transfer.received_by == "陈芳"
    assert transfer.picked_up_at <= transfer.handed_over_at <= transfer.confirmed_at  # type: ignore[operator]
    case.refresh_from_db()
    assert (case.status, case.site_id) == ("active", site.pk)

    # Ten days pass at the site and at home: the schedule moves on to home health monitoring, and the
    # team's earlier check-ins (twice a day) are in. Today's current check-in is left for the browser.
    case = end_today(case)
    assert [c.pk for c in actions.do_advance_cases()] == [case.pk]
    case.refresh_from_db()
    assert case.status == "monitoring"
    now = timezone.localtime()
    current = checkins.slot_for(case, now)
    assert current is not None
    earlier = [s for s in checkins.slots(case) if s < current]
    assert len(earlier) >= 17  # twice a day for nine days, less today's slot (or yesterday's, before 08:00)
    for i, s in enumerate(earlier):
        temp = f"36.{3 + i % 5}"
        actions.do_record_checkin(
            actor=cast["doctor_a"], case=case, temperature=temp, at=s + dt.timedelta(minutes=5)
        )

    # The doctor records today's check-in on the case page; the chart shows them all.
    page = sign_in_as(web, signed_in, "doctor_a")
    web.goto(f"/control/cases/{case.pk}/")
    expect(page.locator("[data-testid=case-site]")).to_contain_text("锦江宾馆隔离点")
    expect(page.locator("[data-testid=checkin-row]")).to_have_count(len(earlier))
    form = page.locator("[data-testid=checkin-form]")
    form.locator("input[name=temperature]").fill("36.6")
    form.locator("[data-testid=checkin-save]").click()
    expect(page.locator("[data-testid=checkin-row]")).to_have_count(len(earlier) + 1)
    expect(page.locator("[data-testid=checkin-row]").first).to_contain_text("36.6")
    chart = page.locator("[data-testid=temperature-chart]")
    expect(chart).to_have_attribute("data-ready", "1")
    expect(chart.locator("svg")).to_have_count(1)
    latest = HealthCheck.objects.get(case=case, slot_at=current)
    assert (str(latest.temperature), latest.by_self, latest.abnormal) == ("36.6", False, False)
    assert latest.created_by == cast["doctor_a"]
    web.screenshot("control-walk-case-checkins")

    # The tests: the site's earlier results are in; the office enters the last two on the case page.
    days = actions.test_days(case)
    assert len(days) >= 2 and days[-1] == timezone.localdate()
    for d in days[:-2]:
        actions.do_record_test(actor=None, case=case, test_date=d, result="negative")
    page = sign_in_as(web, signed_in, "community_staff_a")
    web.goto(f"/control/cases/{case.pk}/")
    for d in days[-2:]:
        form = page.locator("[data-testid=test-form]")
        form.locator("select[name=test_date]").select_option(d.isoformat())
        form.locator("select[name=result]").select_option("negative")
        form.locator("input[name=lab]").fill("锦江区疾控中心")
        form.locator("[data-testid=test-save]").click()
        expect(page.locator("[data-testid=test-row]", has_text=f"{d:%m-%d}")).to_contain_text(NEGATIVE)
    assert (
        sorted(CaseTest.objects.filter(case=case, result="negative").values_list("test_date", flat=True))
        == days
    )
    web.screenshot("control-walk-case-tests")

    # Release and the notice.
    page.fill("[data-testid=release-card] input[name=basis]", "隔离及居家健康监测期满，核酸均为阴性")
    page.once("dialog", lambda d: d.accept())
    page.click("[data-testid=release]")
    expect(page.locator("[data-testid=notice]")).to_be_visible()
    case.refresh_from_db()
    assert case.status == "released"
    page.click("[data-testid=notice]")
    notice = page.locator("[data-testid=release-notice]")
    expect(notice).to_contain_text(person.name)
    expect(notice).to_contain_text("核酸均为阴性")
    web.screenshot("control-walk-close-contact-notice")


# ---- 3. the personal check-in link on a phone -------------------------------------------------------


def test_self_checkin_link_is_phone_sized_and_shows_nothing_else(web: Any, cast: Any) -> None:
    kp = verified(cast, "次密接", "secondary_contact")
    person = kp.person
    case = actions.do_open_case(actor=None, key_person=kp)
    actions.do_set_care_team(actor=None, case=case, members={s: cast[f"{s}_a"] for s in team_slots()})
    actions.do_start_case(actor=None, case=case, basis="五包一到位")
    _link, token = actions.do_issue_checkin_link(actor=None, case=case)
    url = f"{web.base_url}/c/{token}"

    ctx = web.browser.new_context(viewport=PHONE, locale="zh-CN")
    try:
        assert ctx.cookies() == []
        phone = ctx.new_page()
        phone.set_default_timeout(15000)
        response = phone.goto(url)
        assert response is not None and response.status == 200
        assert "/login/" not in phone.url
        expect(phone.locator("[data-testid=self-checkin]")).to_be_visible()
        expect(phone.locator("[data-testid=self-supply]")).to_be_visible()
        # Nothing but the two forms: no navigation, no links, nothing about the person.
        expect(phone.locator("form")).to_have_count(2)
        expect(phone.locator("a, nav, header, .navbar")).to_have_count(0)
        html = phone.content()
        text = phone.locator("body").inner_text()
        household = case.household
        assert household is not None
        for secret in (
            person.name,
            person.id_number,
            person.id_masked,
            person.phone,
            person.phone_masked,
            household.address,
        ):
            assert secret and secret not in html, f"the link page shows {secret!r}"
        assert cast.community_a.name not in text
        assert_fits(phone)
        assert_top_reachable(phone)
        temp_box = phone.locator("input[name=temperature]").bounding_box()
        submit_box = phone.locator("[data-testid=checkin-submit]").bounding_box()
        assert temp_box and temp_box["width"] > 300, temp_box
        assert submit_box and submit_box["width"] > 300 and submit_box["height"] >= 44, submit_box
        phone_shot(phone, "control-walk-self-checkin")

        # The check-in: recorded once.
        phone.fill("input[name=temperature]", "36.7")
        with phone.expect_request(lambda r: r.method == "POST") as posted:
            phone.click("[data-testid=checkin-submit]")
        expect(phone.locator("[data-testid=checkin-done]")).to_be_visible()
        expect(phone.locator("[data-testid=checkin-abnormal]")).to_have_count(0)
        assert_fits(phone)
        phone_shot(phone, "control-walk-self-checkin-done")
        check = HealthCheck.objects.get(case=case)
        assert (str(check.temperature), check.by_self, check.abnormal) == ("36.7", True, False)

        # The very same POST again (a double tap, a resent form): refused, and it says why.
        body = posted.value.post_data
        assert body and "temperature=36.7" in body
        again = ctx.request.post(
            url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": url}
        )
        assert again.status == 409, again.status
        replied = again.text()
        assert 'data-testid="checkin-error"' in replied
        assert "已经记录" in replied, replied[:2000]
        assert HealthCheck.objects.filter(case=case).count() == 1

        # As the person sees it, when they send the form a second time.
        phone.goto(url)
        phone.fill("input[name=temperature]", "36.9")
        phone.click("[data-testid=checkin-submit]")
        expect(phone.locator("[data-testid=checkin-error]")).to_contain_text("已经记录")
        assert_fits(phone)
        phone_shot(phone, "control-walk-self-checkin-twice")
        assert str(HealthCheck.objects.get(case=case).temperature) == "36.7"

        # A guessed token: the same "not valid" page, 404, no form.
        response = phone.goto(f"{web.base_url}/c/not-a-real-token-{token[:4]}x")
        assert response is not None and response.status == 404
        expect(phone.locator("[data-testid=link-gone]")).to_contain_text("链接无效")
        expect(phone.locator("form")).to_have_count(0)
        assert_fits(phone)
        phone_shot(phone, "control-walk-self-checkin-gone")
    finally:
        ctx.close()


def test_self_checkin_link_top_is_reachable_on_a_small_phone(web: Any, cast: Any) -> None:
    kp = verified(cast, "次密接", "secondary_contact")
    case = actions.do_open_case(actor=None, key_person=kp)
    actions.do_set_care_team(actor=None, case=case, members={s: cast[f"{s}_a"] for s in team_slots()})
    actions.do_start_case(actor=None, case=case, basis="五包一到位")
    _link, token = actions.do_issue_checkin_link(actor=None, case=case)
    ctx = web.browser.new_context(viewport={"width": 375, "height": 667}, locale="zh-CN")  # iPhone SE
    try:
        phone = ctx.new_page()
        phone.goto(f"{web.base_url}/c/{token}")
        expect(phone.locator("[data-testid=self-checkin]")).to_be_visible()
        assert_fits(phone, 375)
        assert_top_reachable(phone)
    finally:
        ctx.close()
