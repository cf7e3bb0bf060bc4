"""The demo's door-sensor story (issue 6), built through the sensor actions: sixty sensors from two
vendors, the homes under control with a sensor on the door, a few days of events whose openings follow
the allowed windows, alerts in every state (one escalated), a silent sensor and a flat battery. One
build (5,000 residents) serves the module."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone

from jiedao.control.choices import CaseStatus
from jiedao.demo.sensors import BOUND, HISTORY_HOURS, VENDORS, VIOLATIONS, summary_lines
from jiedao.org.models import User
from jiedao.sensors.actions import is_allowed
from jiedao.sensors.choices import AlertKind, AlertStatus, CheckMethod, DeviceStatus, EventKind
from jiedao.sensors.models import Binding, DoorSensor, SensorAlert, SensorEvent
from jiedao.sensors.queries import alerts_visible_to
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def counts(demo: dict[str, Any], django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """The demo's counts with the sensors stage (run here on the module's demo when build.py does not
    run it yet)."""
    if "sensors_devices" in demo["counts"]:
        yield demo["counts"]
        return
    from jiedao.demo.build import NANHU_EXACT_MIN_SCALE
    from jiedao.demo.sensors import build_sensors
    from jiedao.demo.state import BuildState
    from jiedao.demo.tests.conftest import TEST_SCALE, TEST_SEED

    state = BuildState(
        scale=TEST_SCALE, seed=TEST_SEED, mode="exact" if TEST_SCALE >= NANHU_EXACT_MIN_SCALE else "scaled",
        progress=False,
    )  # fmt: skip
    with django_db_blocker.unblock():
        build_sensors(state)
    yield dict(state.counts)


def test_the_summary_counts_what_is_in_the_database(counts: dict[str, Any]) -> None:
    assert counts["sensors_devices"] == DoorSensor.objects.count() == sum(n for *_x, n in VENDORS)
    assert counts["sensors_vendors"] == 2
    assert counts["sensors_bound"] == Binding.objects.filter(ends_at__isnull=True).count()
    assert counts["sensors_events"] == SensorEvent.objects.count() > 0
    assert counts["sensors_alerts"] == SensorAlert.objects.count()
    line = summary_lines(counts)[0]
    assert (
        f"{counts['sensors_events']:,} events" in line and f"{counts['sensors_bound']} on the doors" in line
    )


def test_sensors_are_on_the_doors_of_homes_under_control(counts: dict[str, Any]) -> None:
    bindings = list(Binding.objects.filter(ends_at__isnull=True).select_related("case", "device"))
    assert 5 <= len(bindings) <= BOUND
    assert len({b.case_id for b in bindings}) == len(bindings)  # one sensor a home
    for b in bindings:
        assert b.case is not None and b.case.status in (CaseStatus.ACTIVE, CaseStatus.MONITORING)
        assert (b.household_id, b.community_id, b.grid_id) == (
            b.case.household_id,
            b.case.community_id,
            b.case.grid_id,
        )
        assert b.device.status == DeviceStatus.BOUND
        assert b.starts_at >= timezone.now() - dt.timedelta(days=15)
    stock = DoorSensor.objects.filter(status=DeviceStatus.IN_STOCK)
    assert stock.count() == counts["sensors_devices"] - len(bindings)
    assert not SensorEvent.objects.filter(device__in=stock).exists()
    by_vendor = dict(
        DoorSensor.objects.values_list("vendor__name")
        .annotate(n=Count("pk"))
        .values_list("vendor__name", "n")
    )
    assert by_vendor == {v: n for v, _m, _p, n in VENDORS}
    assert len({b.device.vendor_id for b in bindings}) == 2  # both vendors are on doors


def test_events_are_a_few_days_of_hourly_heartbeats_and_doors(counts: dict[str, Any]) -> None:
    now = timezone.now()
    span = SensorEvent.objects.aggregate(first=Min("occurred_at"), last=Max("occurred_at"))
    assert now - span["first"] <= dt.timedelta(hours=HISTORY_HOURS) and span["last"] <= now
    for b in Binding.objects.filter(ends_at__isnull=True).select_related("device"):
        events = list(SensorEvent.objects.filter(device=b.device).order_by("seq"))
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
        assert all(e.binding_id == b.pk and e.occurred_at >= b.starts_at for e in events)
        beats = [e.occurred_at for e in events if e.kind == EventKind.HEARTBEAT]
        gaps = [(y - x).total_seconds() / 3600 for x, y in itertools.pairwise(beats[:-1])]
        assert all(abs(g - 1) < 0.01 for g in gaps), gaps  # hourly in the history
        doors = [e.kind for e in events if e.kind in (EventKind.DOOR_OPEN, EventKind.DOOR_CLOSE)]
        assert all(x != y for x, y in itertools.pairwise(doors))  # open, close, open, ...
        assert b.device.last_seq == len(events) and b.device.last_seen_at == events[-1].occurred_at
        assert b.device.door_open is False


def test_openings_inside_allowed_times_raise_nothing_and_the_others_an_alert(counts: dict[str, Any]) -> None:
    opens = list(
        SensorEvent.objects.filter(kind=EventKind.DOOR_OPEN).select_related("binding", "alert").order_by("pk")
    )
    alerted = [e for e in opens if hasattr(e, "alert")]
    quiet = [e for e in opens if not hasattr(e, "alert")]
    assert len(alerted) == len(VIOLATIONS) and len(quiet) > len(alerted)  # most openings were allowed
    assert all(e.binding is not None and is_allowed(e.binding, e.occurred_at) for e in quiet)
    assert not any(is_allowed(e.binding, e.occurred_at) for e in alerted if e.binding is not None)
    assert counts["sensors_windows"] >= 1  # a hospital visit the team allowed


def test_alerts_in_every_state_one_escalated(counts: dict[str, Any]) -> None:
    now = timezone.now()
    alerts = list(SensorAlert.objects.select_related("work_item", "event", "case").order_by("raised_at"))
    assert {a.status for a in alerts} == set(AlertStatus.values)
    assert {a.kind for a in alerts} == set(AlertKind.values)
    for a in alerts:
        assert a.work_item is not None and a.work_item.kind == f"sensors.{a.kind}"
        assert a.occurred_at <= a.raised_at <= now and a.raised_at - a.occurred_at < dt.timedelta(minutes=35)
        assert a.case_id == a.binding.case_id and a.community_id == a.case.community_id
        if a.status in (AlertStatus.ACKNOWLEDGED, AlertStatus.CHECKED, AlertStatus.CLOSED):
            assert a.acknowledged_by is not None and a.raised_at < a.acknowledged_at <= now
        if a.status in (AlertStatus.CHECKED, AlertStatus.CLOSED):
            assert a.check_method in CheckMethod.values and a.outcome and a.acknowledged_at < a.checked_at
        if a.status == AlertStatus.CLOSED:
            assert a.checked_at < a.closed_at <= now and a.work_item.status == "done"
    closed = [a for a in alerts if a.status == AlertStatus.CLOSED]
    assert len(closed) == sum(v[1] == "closed" for v in VIOLATIONS)
    assert {a.check_method for a in closed} == {CheckMethod.PHONE, CheckMethod.ON_SITE}
    escalated = [a for a in alerts if a.work_item.escalated_at is not None]
    assert len(escalated) == 1 == counts["sensors_alerts_escalated"]
    e = escalated[0]
    assert e.status == AlertStatus.NEW and e.work_item.due_at < e.work_item.escalated_at < now
    target = e.work_item.escalated_to
    assert (
        target is not None
        and target.assignments.filter(role="community_staff", community_id=e.community_id).exists()
    )
    newest = alerts[-1] if alerts[-1].kind != AlertKind.OFFLINE else alerts[-2]
    assert newest.status == AlertStatus.NEW and newest.work_item.escalated_at is None
    assert now - newest.raised_at < dt.timedelta(minutes=10)
    tamper = next(a for a in alerts if a.kind == AlertKind.TAMPER)
    assert tamper.status == AlertStatus.ACKNOWLEDGED


def test_one_silent_sensor_and_one_flat_battery(counts: dict[str, Any]) -> None:
    now = timezone.now()
    silent = SensorAlert.objects.select_related("device").get(kind=AlertKind.OFFLINE)
    assert silent.status == AlertStatus.NEW and counts["sensors_silent"] == 1
    limit = dt.timedelta(minutes=settings.SENSOR_SILENT_AFTER_MINUTES)
    assert now - silent.device.last_seen_at > limit
    assert not SensorAlert.objects.filter(device=silent.device).exclude(pk=silent.pk).exists()
    others = DoorSensor.objects.filter(status=DeviceStatus.BOUND).exclude(pk=silent.device_id)
    assert all(now - d.last_seen_at < dt.timedelta(minutes=5) for d in others)  # the others talk
    flat = DoorSensor.objects.get(battery__lt=20)
    item = WorkItem.objects.filter(kind="sensors.battery", subject_id=str(flat.pk)).first()
    assert item is not None and item.role == "grid_worker"
    assert counts["sensors_low_battery"] == 1


def test_grid_workers_see_their_alerts_and_volunteers_none(counts: dict[str, Any]) -> None:
    alert = SensorAlert.objects.order_by("pk").first()
    assert alert is not None
    worker = User.objects.filter(
        assignments__role="grid_worker", assignments__grid_id=alert.grid_id, assignments__active=True
    ).first()
    assert worker is not None and alerts_visible_to(worker).filter(pk=alert.pk).exists()
    volunteer = User.objects.filter(assignments__role="volunteer").first()
    assert volunteer is not None and not alerts_visible_to(volunteer).exists()


def test_the_live_simulator_takes_over_where_the_history_ends(counts: dict[str, Any]) -> None:
    from jiedao.sensors.simulate import Simulator

    sim = Simulator("mqtt://127.0.0.1:1", devices=counts["sensors_devices"])
    devices = sim.load()
    bound = [d for d in devices if d.on_door]
    assert len(bound) == counts["sensors_bound"] and devices[: len(bound)] == bound  # on doors first
    silent = SensorAlert.objects.get(kind=AlertKind.OFFLINE).device.device_id
    assert [d.device_id for d in devices if d.dead] == [silent]  # the silent one stays silent
    last = dict(
        SensorEvent.objects.values("device__device_id")
        .annotate(m=Max("seq"))
        .values_list("device__device_id", "m")
    )
    assert all(d.seq == last.get(d.device_id, 0) for d in devices)
