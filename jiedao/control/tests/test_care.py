"""Tests of the plan's test days, supplies and counselling, missed check-ins on the doctor's list, release
proposals and the daily report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from jiedao.control import actions
from jiedao.control.choices import CaseStatus, SupplyStatus
from jiedao.control.models import CaseTest, ControlCase, HealthCheck, SupplyRequest
from jiedao.control.tests.helpers import end_today, pass_tests
from jiedao.control.tests.test_cases import classified
from jiedao.control.tests.test_team import full_team
from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.work.choices import Priority, WorkStatus
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db


def active(cast: Any, category: str = "close_contact", community: Any = None) -> ControlCase:
    case = actions.do_open_case(
        actor=cast["command"], key_person=classified(cast, category, community=community)
    )
    if category == "secondary_contact":
        full_team(cast, case)
    return actions.do_start_case(actor=cast["command"], case=case, basis="已落实")


def past(cast: Any, **kw: Any) -> ControlCase:
    """An active case whose plan ends today: every test day has come."""
    return end_today(active(cast, **kw))


# ---- tests ----------------------------------------------------------------------------------------


def test_each_test_day_becomes_one_work_item(cast: Any) -> None:
    case = past(cast)
    days = actions.test_days(case)
    assert days, "the close-contact protocol has test days"
    made = sum(actions.do_create_test_items(today=d) for d in days)
    assert made == len(days) - 1  # starting the case made the item of its first day
    assert actions.do_create_test_items(today=days[0]) == 0  # once per day
    items = WorkItem.objects.filter(kind="control.site_test", subject_id=str(case.pk))
    assert items.count() == len(days) and {i.due_at.date() for i in items} == set(days)
    # the day's result finishes the day's item
    actions.do_record_test(actor=cast["doctor_a"], case=case, test_date=days[0], result="negative")
    done = WorkItem.objects.get(dedupe_key=f"control.test:{case.pk}:{days[0].isoformat()}")
    assert done.status == WorkStatus.DONE


def test_a_home_case_gets_home_sampling_for_the_sampler(cast: Any) -> None:
    case = active(cast, "secondary_contact")
    today = timezone.localdate()
    if today not in actions.test_days(case):
        case = end_today(case, days_ago=(case.end_date - actions.test_days(case)[0]).days * -1)
    actions.do_create_test_items(today=timezone.localdate())
    item = WorkItem.objects.filter(kind="control.home_sampling", subject_id=str(case.pk)).first()
    assert item is not None and item.role == "sampler" and item.grid_id == case.grid_id


@pytest.mark.parametrize(
    "day, result, field",
    [(lambda c: c.start_date - dt.timedelta(days=1), "negative", "test_date"),
     (lambda c: timezone.localdate() + dt.timedelta(days=1), "negative", "test_date"),
     (lambda c: c.start_date, "maybe", "result")],
)  # fmt: skip
def test_impossible_test_results_are_refused(cast: Any, day: Any, result: str, field: str) -> None:
    case = past(cast)
    with pytest.raises(InvalidInput) as refused:
        actions.do_record_test(actor=cast["doctor_a"], case=case, test_date=day(case), result=result)
    assert refused.value.field == field and not CaseTest.objects.exists()


def test_a_result_is_entered_once_but_an_invalid_one_is_replaced(cast: Any) -> None:
    case = past(cast)
    day = actions.test_days(case)[0]
    actions.do_record_test(actor=cast["doctor_a"], case=case, test_date=day, result="invalid")
    actions.do_record_test(actor=cast["doctor_a"], case=case, test_date=day, result="negative", lab="金域")
    with pytest.raises(Conflict):
        actions.do_record_test(actor=cast["doctor_a"], case=case, test_date=day, result="positive")
    t = CaseTest.objects.get()
    assert (t.result, t.lab) == ("negative", "金域")


def test_outsiders_and_volunteers_cannot_enter_results(cast: Any) -> None:
    case = past(cast)
    for who in ("doctor_b", "volunteer_a", "police_a"):
        with pytest.raises(Forbidden):
            actions.do_record_test(actor=cast[who], case=case, test_date=case.start_date, result="negative")


def test_a_positive_result_escalates_at_once_and_blocks_release(cast: Any) -> None:
    case = past(cast)
    pass_tests(case)
    assert actions.release_blockers(case, timezone.localdate()) == []
    extra = actions.test_days(case)[0]
    CaseTest.objects.filter(case=case, test_date=extra).update(result="invalid")
    actions.do_record_test(actor=cast["grid_worker_a"], case=case, test_date=extra, result="positive")
    alerts = WorkItem.objects.filter(kind="control.positive", subject_id=str(case.pk))
    assert {(a.role, a.priority) for a in alerts} == {
        ("command", Priority.URGENT),
        ("doctor", Priority.URGENT),
    }
    assert all(a.due_at <= timezone.now() + dt.timedelta(minutes=15) for a in alerts)
    blockers = actions.release_blockers(case, timezone.localdate())
    assert any(extra.isoformat() in b for b in blockers)
    with pytest.raises(Conflict):
        actions.do_release_case(actor=cast["command"], case=case, basis="到期")


def test_fever_at_the_last_check_in_blocks_release(cast: Any) -> None:
    case = past(cast)
    pass_tests(case)
    now = timezone.localtime()
    actions.do_record_checkin(actor=cast["doctor_a"], case=case, temperature="38.1", at=now)
    assert any("fever" in b or "发热" in b for b in actions.release_blockers(case, now.date()))


# ---- missed check-ins ----------------------------------------------------------------------------


def test_a_missed_check_in_is_listed_and_a_late_one_fills_it_in(cast: Any) -> None:
    case = past(cast)
    slot = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    assert actions.do_flag_missed_checkins(now=slot + dt.timedelta(hours=3)) >= 1
    missed = HealthCheck.objects.get(case=case, slot_at=slot)
    assert missed.missed and missed.temperature is None
    actions.do_flag_missed_checkins(now=slot + dt.timedelta(hours=4))  # again: no second row
    assert HealthCheck.objects.filter(case=case, slot_at=slot).count() == 1
    late = actions.do_record_checkin(
        actor=cast["doctor_a"], case=case, temperature="36.4", at=slot + dt.timedelta(hours=5)
    )
    assert late.pk == missed.pk and late.missed and late.temperature is not None
    with pytest.raises(Conflict):
        actions.do_record_checkin(
            actor=cast["doctor_a"], case=case, temperature="36.4", at=slot + dt.timedelta(hours=6)
        )


def test_the_doctors_list_shows_missed_and_abnormal_in_scope(
    login: Any, cast: Any, django_assert_max_num_queries: Any
) -> None:
    a = past(cast)
    b = past(cast, community=cast.community_b)
    now = timezone.localtime()
    slot = now.replace(hour=8, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    actions.do_flag_missed_checkins(now=slot + dt.timedelta(hours=3))
    actions.do_record_checkin(actor=None, case=a, temperature="38.5", symptoms=["cough"], at=now)
    actions.do_record_checkin(actor=None, case=b, temperature="36.5", at=now)
    client = login("doctor_a")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("control:attention")).content.decode()
    assert a.person.name in page and b.person.name not in page and "38.5" in page
    abnormal = client.get(reverse("control:attention"), {"kind": "abnormal"}).content.decode()
    assert abnormal.count('data-testid="attention-row"') == 1
    missed = client.get(reverse("control:attention"), {"kind": "missed"}).content.decode()
    assert "38.5" not in missed and 'data-testid="attention-row"' in missed
    assert login("volunteer_a").get(reverse("control:attention")).status_code == 403


# ---- supplies and counselling --------------------------------------------------------------------


def test_a_request_goes_to_the_teams_volunteer_with_a_work_item(cast: Any) -> None:
    case = active(cast, "secondary_contact")
    req = actions.do_request_supply(
        actor=cast["grid_worker_a"], case=case, kind="food", detail="大米 5 斤、鸡蛋"
    )
    assert req.assignee == cast["volunteer_a"] and req.status == SupplyStatus.ASSIGNED
    item = req.work_item
    assert item.assignee == cast["volunteer_a"] and item.subject_url == req.get_absolute_url()
    assert item.priority == Priority.NORMAL


def test_an_urgent_medical_need_is_the_doctors_within_minutes(cast: Any) -> None:
    case = active(cast, "secondary_contact")
    req = actions.do_request_supply(
        actor=None, case=case, kind="medicine", detail="降压药用完了", urgent=True, by_self=True
    )
    item = req.work_item
    assert (item.role, item.assignee, item.priority) == ("doctor", cast["doctor_a"], Priority.URGENT)
    assert item.due_at <= timezone.now() + dt.timedelta(minutes=15)
    # overdue, it escalates like any work item
    from jiedao.work.actions import do_escalate_overdue

    escalated = do_escalate_overdue(now=item.due_at + dt.timedelta(minutes=1))
    assert item.pk in {i.pk for i in escalated}


@pytest.mark.parametrize("kind, detail", [("food", ""), ("food", "x" * 301), ("gold", "金条")])
def test_bad_requests_are_refused(cast: Any, kind: str, detail: str) -> None:
    case = active(cast)
    with pytest.raises(InvalidInput):
        actions.do_request_supply(actor=cast["doctor_a"], case=case, kind=kind, detail=detail)
    assert not SupplyRequest.objects.exists() and not WorkItem.objects.filter(kind="control.supply").exists()


def test_deliver_hold_and_never_twice(cast: Any) -> None:
    case = active(cast, "secondary_contact")
    req = actions.do_request_supply(actor=cast["doctor_a"], case=case, kind="food", detail="蔬菜")
    with pytest.raises(Forbidden):
        actions.do_deliver_supply(actor=cast["volunteer_b"], req=req, outcome="x")
    with pytest.raises(InvalidInput):
        actions.do_hold_supply(actor=cast["volunteer_a"], req=req, reason="")
    held = actions.do_hold_supply(actor=cast["volunteer_a"], req=req, reason="超市缺货，明早送")
    assert (
        held.status == SupplyStatus.HELD
        and WorkItem.objects.get(pk=req.work_item_id).status == WorkStatus.OPEN
    )
    done = actions.do_deliver_supply(actor=cast["volunteer_a"], req=held, outcome="已送达门口")
    assert done.status == SupplyStatus.DELIVERED and done.delivered_at is not None
    assert WorkItem.objects.get(pk=req.work_item_id).status == WorkStatus.DONE
    with pytest.raises(Conflict):
        actions.do_deliver_supply(actor=cast["volunteer_a"], req=done, outcome="again")


def test_release_ends_everything_attached(cast: Any) -> None:
    case = past(cast)
    pass_tests(case)
    open_req = actions.do_request_supply(actor=cast["doctor_a"], case=case, kind="other", detail="快递代收")
    actions.do_issue_checkin_link(actor=cast["command"], case=case)
    actions.do_release_case(actor=cast["command"], case=case, basis="核酸阴性，期满")
    open_req.refresh_from_db()
    assert open_req.status == SupplyStatus.CLOSED and "核酸阴性" in open_req.outcome
    assert WorkItem.objects.get(pk=open_req.work_item_id).status == WorkStatus.CANCELLED
    assert not case.checkin_links.filter(revoked_at__isnull=True).exists()
    from jiedao.core.models import AuditEntry

    entry = AuditEntry.objects.filter(action="control.release_case").last()
    assert entry is not None and "supply_requests" in str(entry.changes)


def test_cases_meeting_the_criteria_are_proposed_for_release_once(cast: Any) -> None:
    ready, blocked = past(cast), past(cast)
    pass_tests(ready)
    assert actions.do_propose_releases() == 1
    assert actions.do_propose_releases() == 0
    item = WorkItem.objects.get(kind="control.release")
    assert item.subject_id == str(ready.pk) and blocked.status == CaseStatus.ACTIVE


# ---- pages ---------------------------------------------------------------------------------------


def test_the_case_page_records_a_result_and_files_a_request(login: Any, cast: Any) -> None:
    case = past(cast)
    client = login("doctor_a")
    day = actions.test_days(case)[0].isoformat()
    client.post(
        reverse("control:test", args=[case.pk]), {"test_date": day, "result": "negative", "lab": "华西"}
    )
    client.post(
        reverse("control:supply_request", args=[case.pk]), {"kind": "counselling", "detail": "睡不着，焦虑"}
    )
    page = client.get(reverse("control:case", args=[case.pk])).content.decode()
    assert "华西" in page and "睡不着" in page
    assert CaseTest.objects.get().result == "negative"
    refused = client.post(
        reverse("control:test", args=[case.pk]), {"test_date": "not a date", "result": "negative"}
    )
    assert refused.status_code == 302 and CaseTest.objects.count() == 1


def test_a_volunteer_sees_the_request_but_no_health_data(login: Any, cast: Any) -> None:
    case = active(cast, "secondary_contact")
    actions.do_record_checkin(actor=None, case=case, temperature="38.4", at=timezone.localtime())
    req = actions.do_request_supply(actor=cast["doctor_a"], case=case, kind="food", detail="牛奶两箱")
    client = login("volunteer_a")
    page = client.get(reverse("control:supply", args=[req.pk])).content.decode()
    assert "牛奶两箱" in page and "38.4" not in page and reverse("control:case", args=[case.pk]) not in page
    assert client.get(reverse("control:case", args=[case.pk])).status_code == 403
    ledger = client.get(reverse("control:supplies")).content.decode()
    assert "牛奶两箱" in ledger
    client.post(reverse("control:supply_deliver", args=[req.pk]), {"outcome": "已送到门口"})
    req.refresh_from_db()
    assert req.status == SupplyStatus.DELIVERED
    assert login("volunteer_b").get(reverse("control:supply", args=[req.pk])).status_code == 404


def test_the_supplies_ledger_filters_and_exports(
    login: Any, cast: Any, django_assert_max_num_queries: Any
) -> None:
    case = active(cast, "secondary_contact")
    for i in range(5):
        actions.do_request_supply(actor=cast["doctor_a"], case=case, kind="food", detail=f"物资 {i}")
    urgent = actions.do_request_supply(
        actor=cast["doctor_a"], case=case, kind="medicine", detail="胰岛素", urgent=True
    )
    client = login("community_staff_a")
    with django_assert_max_num_queries(14):
        page = client.get(reverse("control:supplies")).content.decode()
    assert page.count('data-testid="supply-row"') == 6
    only = client.get(reverse("control:supplies"), {"urgent": "1"}).content.decode()
    assert only.count('data-testid="supply-row"') == 1 and urgent.detail in only
    export = client.get(reverse("control:supplies_export"))
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    from jiedao.core.sheets import read_table

    rows = read_table("x.xlsx", export.content)
    assert len(rows) == 7 and any("胰岛素" in str(r) for r in rows)


def test_the_daily_report_counts_by_community_and_flags_cases_past_their_end(login: Any, cast: Any) -> None:
    a = past(cast)
    end_today(a, days_ago=2)
    past(cast, community=cast.community_b)
    client = login("command")
    page = client.get(reverse("control:report")).content.decode()
    assert 'data-testid="past-end-alert"' in page
    assert cast.community_a.name in page and cast.community_b.name in page
    export = client.get(reverse("control:report_export"))
    assert export.status_code == 200
    ledger = client.get(reverse("control:cases")).content.decode()
    assert 'data-testid="past-end-alert"' in ledger
    staff_b = login("community_staff_b").get(reverse("control:report")).content.decode()
    assert staff_b.count('data-testid="report-row"') == 1 and 'data-testid="past-end-alert"' not in staff_b


def test_the_person_asks_for_supplies_through_their_link(client: Any, cast: Any) -> None:
    case = active(cast, "secondary_contact")
    _link, token = actions.do_issue_checkin_link(actor=cast["command"], case=case)
    url = reverse("checkin:form", args=[token])
    bad = client.post(url, {"form": "supply", "kind": "food", "detail": ""})
    assert bad.status_code == 422 and not SupplyRequest.objects.exists()
    ok = client.post(url, {"form": "supply", "kind": "medicine", "detail": "布洛芬", "urgent": "1"})
    assert ok.status_code == 200 and 'data-testid="supply-done"' in ok.content.decode()
    req = SupplyRequest.objects.get()
    assert req.by_self and req.urgent and req.work_item.priority == Priority.URGENT


def test_the_dashboard_counts_check_ins_to_follow_up_and_open_requests(cast: Any) -> None:
    from jiedao.control.own_sections import control_cards

    case = active(cast, "secondary_contact")
    actions.do_record_checkin(actor=None, case=case, temperature="38.2", at=timezone.localtime())
    actions.do_request_supply(
        actor=None, case=case, kind="medicine", detail="退烧药", urgent=True, by_self=True
    )
    cards = {str(c.title): c for c in control_cards(cast["doctor_a"])}
    follow = cards["待跟进的健康监测"] if "待跟进的健康监测" in cards else cards["Check-ins to follow up"]
    assert follow.value == 1 and follow.tone == "danger"
    supplies = cards.get("物资与疏导需求") or cards["Supply requests"]
    assert supplies.value == 1 and supplies.tone == "danger"
    assert not any(
        c.value for c in control_cards(cast["doctor_b"]) if "follow" in str(c.title) or "跟进" in str(c.title)
    )


def test_the_ledger_filters_by_day_of_the_measure(login: Any, cast: Any) -> None:
    first_day = active(cast)
    later = end_today(active(cast))
    n = (timezone.localdate() - later.start_date).days + 1
    client = login("command")
    day1 = client.get(reverse("control:cases"), {"day": "1"}).content.decode()
    assert first_day.person.name in day1 and later.person.name not in day1
    dayn = client.get(reverse("control:cases"), {"day": str(n)}).content.decode()
    assert later.person.name in dayn and first_day.person.name not in dayn
    assert client.get(reverse("control:cases"), {"day": "abc"}).status_code == 200
