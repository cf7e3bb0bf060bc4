"""The demo's control story (issue 4), built through the control actions: quarantine sites, closed-loop
transfers that start the cases at the sites (some still under way, one late), check-ins twice a day with
fevers and missed ones for the doctor, test results with one positive escalated and two missing, supply
and counselling requests in every state, cases past their end date, releases and release proposals.
One build (5,000 residents) serves the module."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jiedao.control import checkins
from jiedao.control.actions import is_late, release_blockers, with_occupancy
from jiedao.control.actions import test_days as plan_test_days
from jiedao.control.choices import (
    OPEN_STATUSES,
    OPEN_TRANSFER_STATUSES,
    CaseStatus,
    SiteStatus,
    SupplyStatus,
    TransferStatus,
)
from jiedao.control.choices import (
    TestResult as Result,
)
from jiedao.control.models import (
    CaseChange,
    CaseTest,
    ControlCase,
    HealthCheck,
    QuarantineSite,
    SupplyRequest,
    Transfer,
)
from jiedao.control.queries import attention_checkins
from jiedao.demo.control import SITES, summary_lines
from jiedao.org.models import User
from jiedao.protocols.choices import MeasureType
from jiedao.work.choices import OPEN_STATUSES as WORK_OPEN
from jiedao.work.choices import Priority, WorkStatus
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db

UNDER = (CaseStatus.ACTIVE, CaseStatus.MONITORING)


def test_the_summary_counts_what_is_in_the_database(demo: dict[str, Any]) -> None:
    counts = demo["counts"]
    assert counts["control_cases"] == ControlCase.objects.count() > 0
    assert counts["control_sites"] == QuarantineSite.objects.count() == len(SITES)
    assert counts["control_transfers"] == Transfer.objects.count()
    assert counts["control_checkins"] == HealthCheck.objects.filter(temperature__isnull=False).count()
    assert counts["control_tests"] == CaseTest.objects.count()
    assert counts["control_supplies"] == SupplyRequest.objects.count()
    assert counts["control_released"] == ControlCase.objects.filter(status=CaseStatus.RELEASED).count() > 0
    lines = summary_lines(counts)
    assert len(lines) == 3 and f"{counts['control_checkins']:,} check-ins" in lines[2]


def test_sites_one_nearly_full_one_closed(demo: dict[str, Any]) -> None:
    sites = list(with_occupancy(QuarantineSite.objects.all()))
    assert [s.status for s in sites].count(SiteStatus.CLOSED) == 1
    closed = next(s for s in sites if s.status == SiteStatus.CLOSED)
    assert closed.occupied == closed.incoming == 0  # type: ignore[attr-defined]
    assert not Transfer.objects.filter(site=closed).exists()
    loads = [(s.occupied + s.incoming, s.capacity) for s in sites]  # type: ignore[attr-defined]
    assert all(load <= cap for load, cap in loads)
    assert any(load == cap - 1 and load > 0 for load, cap in loads)  # nearly full: one room left
    assert all(s.name and s.address.startswith("四川省成都市") for s in sites)


def test_centralised_cases_start_at_their_site_by_a_confirmed_transfer(demo: dict[str, Any]) -> None:
    now = timezone.now()
    central = ControlCase.objects.filter(measure_type=MeasureType.CENTRAL_QUARANTINE)
    started = central.exclude(status=CaseStatus.PENDING)
    assert started.exists()
    for case in started:
        transfer = case.transfers.get(status=TransferStatus.CONFIRMED)
        assert case.site_id == transfer.site_id
        picked, handed, confirmed = transfer.picked_up_at, transfer.handed_over_at, transfer.confirmed_at
        assert picked is not None and handed is not None and confirmed is not None
        assert transfer.pickup_at - dt.timedelta(minutes=30) <= picked < handed < confirmed <= now
        assert transfer.received_by
        # The start's basis is the transfer, dated when the site confirmed.
        start = CaseChange.objects.get(case=case, to_status=CaseStatus.ACTIVE)
        assert start.created_at == transfer.confirmed_at and transfer.received_by in start.basis
    assert not central.filter(status__in=UNDER, site__isnull=True).exists()


def test_transfers_under_way_on_the_board_one_late(demo: dict[str, Any]) -> None:
    now = timezone.now()
    under_way = list(Transfer.objects.filter(status__in=OPEN_TRANSFER_STATUSES).select_related("case"))
    assert under_way
    assert all(t.case.status == CaseStatus.PENDING for t in under_way)
    assert all(t.last_step_at <= now or t.status == TransferStatus.PLANNED for t in under_way)
    late = [t for t in under_way if is_late(t, now)]
    assert late
    # The one the brief describes: pick-up planned two hours ago, nobody picked up.
    assert any(
        t.status == TransferStatus.PLANNED
        and t.picked_up_at is None
        and dt.timedelta(hours=1, minutes=50) < now - t.pickup_at < dt.timedelta(hours=2, minutes=30)
        for t in late
    )


def test_check_ins_twice_a_day_for_the_past_days(demo: dict[str, Any]) -> None:
    now = timezone.now()
    under = ControlCase.objects.filter(status__in=UNDER).exclude(measure_type=MeasureType.TWO_IN_THREE)
    assert under.exists()
    for case in under:
        due = [s for s in checkins.slots(case) if s <= now - checkins.MISSED_AFTER]
        rows = {c.slot_at: c for c in case.checkins.all()}
        assert set(rows) <= set(checkins.slots(case))  # every row answers a scheduled check-in
        recorded = [s for s in due if s in rows and rows[s].temperature is not None]
        assert len(recorded) >= 0.75 * len(due)  # most came in
    checks = HealthCheck.objects.filter(temperature__isnull=False)
    abnormal = checks.filter(abnormal=True).count()
    assert 0 < abnormal < 0.15 * checks.count()
    assert checks.filter(by_self=True).exists() and checks.filter(by_self=False).exists()
    assert not checks.filter(by_self=True, case__measure_type=MeasureType.CENTRAL_QUARANTINE).exists()


def test_missed_and_abnormal_check_ins_reach_the_doctor(demo: dict[str, Any]) -> None:
    now = timezone.now()
    missed = HealthCheck.objects.filter(missed=True, temperature__isnull=True)
    assert missed.count() >= 1
    assert all(m.slot_at <= now - checkins.MISSED_AFTER for m in missed)
    for m in missed:
        item = WorkItem.objects.get(
            dedupe_key=f"control.missed_checkin:{m.case_id}:{timezone.localtime(m.slot_at).isoformat()}"
        )
        assert item.status in WORK_OPEN and item.role == "doctor"
    assert HealthCheck.objects.filter(missed=True, temperature__isnull=False).exists()  # one came in late
    # Abnormal check-ins raised urgent items; the doctor dealt with those older than a day.
    for check in HealthCheck.objects.filter(abnormal=True):
        item = WorkItem.objects.get(
            dedupe_key=f"control.abnormal_checkin:{check.case_id}:{timezone.localtime(check.slot_at).isoformat()}"
        )
        assert item.priority == Priority.URGENT
        if item.status == WorkStatus.DONE:
            assert item.done_at is not None and check.slot_at < item.done_at <= now
    assert WorkItem.objects.filter(kind="control.abnormal_checkin", status=WorkStatus.DONE).exists()
    doctor = User.objects.get(username="doctor_binjiang")
    command = User.objects.get(username="command")
    listed = attention_checkins(command)
    assert listed.filter(missed=True).exists() and listed.filter(abnormal=True).exists()
    assert (
        set(attention_checkins(doctor).values_list("case__community", flat=True))
        <= doctor.scope.community_ids
    )


def test_test_results_one_positive_escalated_two_missing(demo: dict[str, Any]) -> None:
    assert CaseTest.objects.filter(result=Result.NEGATIVE).count() > 10
    positive = CaseTest.objects.get(result=Result.POSITIVE)
    assert positive.case.measure_type == MeasureType.CENTRAL_QUARANTINE
    escalations = WorkItem.objects.filter(kind="control.positive", subject_id=str(positive.case_id))
    assert sorted(escalations.values_list("role", flat=True)) == ["command", "doctor"]
    assert all(i.priority == Priority.URGENT and i.status in WORK_OPEN for i in escalations)
    # The person runs a fever since: the last check-in is abnormal.
    last = positive.case.checkins.filter(temperature__isnull=False).order_by("-slot_at").first()
    assert last is not None and last.abnormal
    assert demo["counts"]["control_tests_missing"] == 2
    # A missing result leaves the day's test work item open past its time.
    now = timezone.now()
    overdue = WorkItem.objects.filter(
        kind__in=("control.site_test", "control.home_sampling"), status__in=WORK_OPEN, due_at__lt=now
    )
    assert overdue.count() == 2
    for item in overdue:
        day = timezone.localtime(item.due_at).date()
        assert not CaseTest.objects.filter(case_id=int(item.subject_id), test_date=day).exists()
        assert day in plan_test_days(ControlCase.objects.get(pk=int(item.subject_id)))


def test_supplies_and_counselling_in_every_state(demo: dict[str, Any]) -> None:
    reqs = list(SupplyRequest.objects.select_related("case"))
    assert {r.status for r in reqs} == set(SupplyStatus.values)
    urgent = [r for r in reqs if r.urgent]
    assert len(urgent) == 1 and urgent[0].kind == "medicine" and urgent[0].assignee is not None
    assert urgent[0].work_item is not None and urgent[0].work_item.priority == Priority.URGENT
    assert {r.kind for r in reqs} == {"food", "medicine", "counselling", "other"}
    for r in reqs:
        assert r.created_at <= timezone.now() and r.work_item is not None
        if r.status == SupplyStatus.DELIVERED:
            assert r.outcome and r.delivered_at and r.work_item.status == WorkStatus.DONE
        if r.status == SupplyStatus.HELD:
            assert r.outcome and str(r.work_item.status) in WORK_OPEN
        if r.status == SupplyStatus.CLOSED:
            assert r.case.status == CaseStatus.RELEASED
        if r.status == SupplyStatus.OPEN:
            assert r.assignee is None and r.case.measure_type == MeasureType.CENTRAL_QUARANTINE


def test_past_their_end_date_released_and_proposed(demo: dict[str, Any]) -> None:
    today = timezone.localdate()
    past = list(ControlCase.objects.filter(status__in=OPEN_STATUSES, end_date__lt=today))
    assert past
    assert all(c.is_past_end for c in past)
    blocked = [c for c in past if release_blockers(c, today)]
    assert blocked  # one waits for its last test result
    proposed = set(
        WorkItem.objects.filter(kind="control.release", status__in=WORK_OPEN).values_list(
            "subject_id", flat=True
        )
    )
    for case in ControlCase.objects.filter(status__in=UNDER, end_date__lte=today):
        assert (str(case.pk) in proposed) == (not release_blockers(case, today))
    assert {str(c.pk) for c in past if not release_blockers(c, today)} <= proposed
    released = ControlCase.objects.filter(status=CaseStatus.RELEASED)
    assert released.exists()
    for case in released:
        assert case.end_date <= today and case.released_at is not None
        last_test = plan_test_days(case)[-1]
        assert case.tests.get(test_date=last_test).result == Result.NEGATIVE
        assert not case.checkin_links.filter(revoked_at__isnull=True).exists()


def test_stamps_are_never_in_the_future(demo: dict[str, Any]) -> None:
    now = timezone.now()
    assert not CaseChange.objects.filter(created_at__gt=now).exists()
    assert not HealthCheck.objects.filter(slot_at__gt=now).exists()
    assert not Transfer.objects.filter(picked_up_at__gt=now).exists()
    assert not Transfer.objects.filter(handed_over_at__gt=now).exists()
    assert not CaseTest.objects.filter(sampled_at__gt=now).exists()
    # Cases started on different days, not all at build time.
    starts = CaseChange.objects.filter(to_status=CaseStatus.ACTIVE).values("created_at__date")
    assert starts.annotate(n=Count("pk")).count() >= 3


def test_the_control_pages_show_the_story(demo: dict[str, Any], client: Client) -> None:
    client.force_login(User.objects.get(username="command"))
    positive = CaseTest.objects.get(result=Result.POSITIVE).case
    released = ControlCase.objects.filter(status=CaseStatus.RELEASED).first()
    assert released is not None
    urls = [
        reverse("control:cases"),
        reverse("control:attention"),
        positive.get_absolute_url(),
        released.get_absolute_url(),
        reverse("control:notice", args=[released.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    page = client.get(positive.get_absolute_url()).content.decode()
    assert positive.person.name in page
