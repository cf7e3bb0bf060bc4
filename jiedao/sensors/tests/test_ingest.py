"""Events in: the wire format, once per (device, seq), health, the rules and the alerts they raise, and
following an alert up to the end."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.sensors import actions, events
from jiedao.sensors.choices import AlertKind, AlertStatus, DeviceStatus
from jiedao.sensors.models import DoorSensor, SensorAlert, SensorEvent
from jiedao.sensors.tests.helpers import bound, event, home_case
from jiedao.work.choices import Priority, WorkStatus
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db
TOPIC = "jiedao/sensors/DS-9/events"


# ---- the wire format -----------------------------------------------------------------------------


def test_a_message_becomes_events() -> None:
    at = timezone.now().replace(microsecond=0)
    one = events.parse_message(
        TOPIC, json.dumps({"seq": 7, "type": "door_open", "at": at.isoformat(), "battery": 80}).encode()
    )
    assert one == [events.EventIn("DS-9", 7, "door_open", at, battery=80)]
    many = events.parse_message(TOPIC, json.dumps([{"seq": 1, "type": "heartbeat", "at": at.timestamp()},
                                                   {"seq": 2, "type": "door_close", "at": at.isoformat()}]).encode())  # fmt: skip
    assert [e.seq for e in many] == [1, 2] and many[0].occurred_at == at


@pytest.mark.parametrize(
    "topic, payload, why",
    [
        (TOPIC, b"{not json", "malformed JSON"),
        (TOPIC, b"\xff\xfe", "malformed JSON"),
        (TOPIC, b'"just a string"', "JSON object"),
        (TOPIC, b'{"seq": 0, "type": "door_open", "at": 0}', "seq"),
        (TOPIC, b'{"seq": 1, "type": "door_open", "at": 0}', "too far in the past"),
        (TOPIC, b'{"seq": 1, "type": "open sesame", "at": 0}', "type"),
        (TOPIC, b'{"seq": 1, "type": "door_open", "at": "2026-11-29T08:00:00"}', "UTC offset"),
        (TOPIC, b'{"seq": true, "type": "door_open", "at": 0}', "seq"),
        ("jiedao/sensors/../events", b"{}", "unexpected topic"),
        ("other/topic", b"{}", "unexpected topic"),
        (TOPIC, b"[" + b'{"seq":1},' * 600 + b"{}]", "more than"),
        (TOPIC, b" " * (70 * 1024), "larger than"),
    ],
)
def test_bad_messages_are_refused_with_the_reason(topic: str, payload: bytes, why: str) -> None:
    with pytest.raises(events.BadEvent, match=why):
        events.parse_message(topic, payload)


def test_events_from_the_future_are_refused_but_a_little_clock_drift_is_not() -> None:
    now = timezone.now()
    ok = {"seq": 1, "type": "heartbeat", "at": (now + dt.timedelta(minutes=2)).isoformat()}
    assert events.parse_message(TOPIC, json.dumps(ok).encode(), now=now)
    late = {"seq": 1, "type": "heartbeat", "at": (now + dt.timedelta(hours=1)).isoformat()}
    with pytest.raises(events.BadEvent, match="future"):
        events.parse_message(TOPIC, json.dumps(late).encode(), now=now)


def test_bad_battery_and_signal_values() -> None:
    now = timezone.now().isoformat()
    for extra in ({"battery": 101}, {"battery": "80"}, {"rssi": 5}, {"rssi": -200}):
        with pytest.raises(events.BadEvent):
            events.parse_message(
                TOPIC, json.dumps({"seq": 1, "type": "heartbeat", "at": now, **extra}).encode()
            )


# ---- stored once ----------------------------------------------------------------------------------


def test_each_event_is_stored_once_however_often_it_arrives(cast: Any) -> None:
    b = bound(cast)
    heartbeat = event(b, 1, "heartbeat", battery=88, signal=-70)
    first = actions.do_ingest_events([heartbeat, heartbeat], "mqtt")
    assert (first.applied, first.duplicates) == (1, 1)
    again = actions.do_ingest_events([heartbeat], "http")
    assert (again.applied, again.duplicates) == (0, 1)
    assert SensorEvent.objects.count() == 1
    device = DoorSensor.objects.get(pk=b.device_id)
    assert (device.battery, device.signal, device.last_seq) == (
        88,
        -70,
        1,
    ) and device.last_seen_at is not None


def test_unknown_and_retired_devices_are_rejected(cast: Any) -> None:
    b = bound(cast)
    stranger = events.EventIn("NOBODY", 1, "door_open", timezone.now())
    DoorSensor.objects.filter(pk=b.device_id).update(status=DeviceStatus.RETIRED)
    result = actions.do_ingest_events([stranger, event(b, 1)], "mqtt")
    assert result.applied == 0 and sorted(why for _e, why in result.rejected) == [
        "retired device",
        "unknown device",
    ]
    assert not SensorEvent.objects.exists()


def test_an_old_event_arriving_late_does_not_rewind_the_health(cast: Any) -> None:
    b = bound(cast)
    now = timezone.now()
    actions.do_ingest_events([event(b, 5, "heartbeat", at=now, battery=70)], "mqtt")
    actions.do_ingest_events(
        [event(b, 4, "heartbeat", at=now - dt.timedelta(minutes=30), battery=90)], "mqtt"
    )
    device = DoorSensor.objects.get(pk=b.device_id)
    assert device.battery == 70 and device.last_seen_at == now and device.last_seq == 5


# ---- rules ----------------------------------------------------------------------------------------


def test_a_door_opened_during_quarantine_raises_an_urgent_alert_for_the_grid_worker(cast: Any) -> None:
    b = bound(cast)
    result = actions.do_ingest_events([event(b, 1, "door_open")], "mqtt")
    assert len(result.alerts) == 1
    alert = SensorAlert.objects.get()
    assert (alert.kind, alert.status, alert.case_id, alert.grid_id) == (
        AlertKind.DOOR_OPEN,
        "new",
        b.case_id,
        b.grid_id,
    )
    item = alert.work_item
    assert (item.role, item.grid_id, item.priority) == ("grid_worker", b.grid_id, Priority.URGENT)
    assert item.due_at <= timezone.now() + dt.timedelta(minutes=5)
    # closing the door raises nothing; the same opening redelivered raises nothing more
    actions.do_ingest_events([event(b, 2, "door_close"), event(b, 1, "door_open")], "mqtt")
    assert SensorAlert.objects.count() == 1


def test_no_alert_inside_an_allowed_window(cast: Any) -> None:
    b = bound(cast)
    now = timezone.now()
    actions.do_grant_window(actor=cast["grid_worker_a"], binding=b, starts_at=now - dt.timedelta(minutes=5),
                            ends_at=now + dt.timedelta(minutes=30), reason="去医院复查，民警陪同")  # fmt: skip
    assert actions.do_ingest_events([event(b, 1, at=now)], "mqtt").alerts == []
    later = now + dt.timedelta(hours=1)
    assert len(actions.do_ingest_events([event(b, 2, at=later)], "mqtt", now=later).alerts) == 1


def test_a_delivery_or_home_sampling_opens_the_door_without_an_alert(cast: Any) -> None:
    from jiedao.control.actions import do_deliver_supply, do_request_supply

    b = bound(cast)
    req = do_request_supply(actor=None, case=b.case, kind="food", detail="米面油")
    do_deliver_supply(actor=None, req=req, outcome="放门口")
    assert actions.do_ingest_events([event(b, 1)], "mqtt").alerts == []


def test_tamper_alerts_even_outside_a_case_measure_and_low_battery_makes_a_work_item(cast: Any) -> None:
    b = bound(cast)
    actions.do_ingest_events([event(b, 1, "tamper"), event(b, 2, "heartbeat", battery=12)], "mqtt")
    assert SensorAlert.objects.get().kind == AlertKind.TAMPER
    battery = WorkItem.objects.get(kind="sensors.battery")
    assert battery.grid_id == b.grid_id and "12" in battery.title
    actions.do_ingest_events([event(b, 3, "heartbeat", battery=11)], "mqtt")
    assert WorkItem.objects.filter(kind="sensors.battery").count() == 1  # once a day


def test_an_unbound_device_raises_nothing(cast: Any) -> None:
    actions.do_register_device(actor=None, device_id="SPARE-1", vendor="海康")
    result = actions.do_ingest_events([events.EventIn("SPARE-1", 1, "door_open", timezone.now())], "mqtt")
    assert result.applied == 1 and result.alerts == [] and SensorEvent.objects.get().binding_id is None


def test_a_silent_sensor_alerts_once_until_closed(cast: Any) -> None:
    b = bound(cast)
    actions.do_ingest_events([event(b, 1, "heartbeat")], "mqtt")
    now = timezone.now()
    assert actions.do_flag_silent_sensors(now=now + dt.timedelta(minutes=10)) == []
    later = now + dt.timedelta(minutes=45)
    raised = actions.do_flag_silent_sensors(now=later)
    assert [a.kind for a in raised] == [AlertKind.OFFLINE]
    assert actions.do_flag_silent_sensors(now=later + dt.timedelta(minutes=5)) == []


# ---- the alert's life -----------------------------------------------------------------------------


def test_an_alert_is_acknowledged_checked_and_closed_in_order(cast: Any) -> None:
    b = bound(cast)
    actions.do_ingest_events([event(b, 1)], "mqtt")
    alert = SensorAlert.objects.get()
    with pytest.raises(Conflict):
        actions.do_close_alert(actor=cast["grid_worker_a"], alert=alert)
    with pytest.raises(Forbidden):
        actions.do_acknowledge_alert(actor=cast["grid_worker_b"], alert=alert)
    with pytest.raises(Forbidden):
        actions.do_acknowledge_alert(actor=cast["volunteer_a"], alert=alert)
    alert = actions.do_acknowledge_alert(actor=cast["grid_worker_a"], alert=alert)
    assert WorkItem.objects.get(pk=alert.work_item_id).status == WorkStatus.IN_PROGRESS
    with pytest.raises(Conflict):
        actions.do_acknowledge_alert(actor=cast["grid_worker_a"], alert=alert)
    with pytest.raises(InvalidInput):
        actions.do_check_alert(actor=cast["grid_worker_a"], alert=alert, method="telepathy", outcome="x")
    with pytest.raises(InvalidInput):
        actions.do_check_alert(actor=cast["grid_worker_a"], alert=alert, method="phone", outcome=" ")
    alert = actions.do_check_alert(
        actor=cast["police_a"], alert=alert, method="on_site", outcome="下楼扔垃圾，已劝返并再次告知"
    )
    alert = actions.do_close_alert(actor=cast["grid_worker_a"], alert=alert)
    assert alert.status == AlertStatus.CLOSED and alert.closed_at is not None
    assert WorkItem.objects.get(pk=alert.work_item_id).status == WorkStatus.DONE


def test_an_alert_nobody_acknowledges_escalates(cast: Any) -> None:
    from jiedao.work.actions import do_escalate_overdue

    b = bound(cast)
    actions.do_ingest_events([event(b, 1)], "mqtt")
    alert = SensorAlert.objects.get()
    escalated = do_escalate_overdue(now=alert.work_item.due_at + dt.timedelta(minutes=1))
    assert alert.work_item_id in {i.pk for i in escalated}


def test_releasing_the_case_takes_the_sensor_off_and_closes_its_alerts(cast: Any) -> None:
    from jiedao.control.actions import do_release_case
    from jiedao.control.tests.helpers import end_today, pass_tests

    b = bound(cast)
    actions.do_ingest_events([event(b, 1)], "mqtt")
    case = end_today(b.case)
    pass_tests(case)
    do_release_case(actor=cast["command"], case=case, basis="期满，核酸阴性")
    b.refresh_from_db()
    assert b.ends_at is not None and "期满" in b.end_reason
    assert DoorSensor.objects.get(pk=b.device_id).status == DeviceStatus.IN_STOCK
    assert SensorAlert.objects.get().status == AlertStatus.CLOSED
    # after release the door is free: no alert
    assert actions.do_ingest_events([event(b, 2)], "mqtt").alerts == []


# ---- devices and bindings -------------------------------------------------------------------------


def test_register_and_bind_refuse_bad_input(cast: Any) -> None:
    with pytest.raises(InvalidInput):
        actions.do_register_device(actor=cast["command"], device_id="bad id!", vendor="x")
    with pytest.raises(InvalidInput):
        actions.do_register_device(actor=cast["command"], device_id="OK-1", vendor="")
    with pytest.raises(Forbidden):
        actions.do_register_device(actor=cast["grid_worker_a"], device_id="OK-1", vendor="x")
    device, secret = actions.do_register_device(actor=cast["command"], device_id="OK-1", vendor="x")
    assert len(secret) >= 16 and device.secret == secret
    with pytest.raises(Conflict):
        actions.do_register_device(actor=cast["command"], device_id="OK-1", vendor="x")
    case = home_case(cast)
    actions.do_bind_device(actor=cast["community_staff_a"], device=device, case=case)
    with pytest.raises(Conflict):  # already on a door
        actions.do_bind_device(actor=cast["community_staff_a"], device=device, case=case)
    other, _s = actions.do_register_device(actor=cast["command"], device_id="OK-2", vendor="x")
    with pytest.raises(Forbidden):
        actions.do_bind_device(actor=cast["community_staff_b"], device=other, case=case)


def test_a_window_must_make_sense(cast: Any) -> None:
    b = bound(cast)
    now = timezone.now()
    with pytest.raises(InvalidInput):
        actions.do_grant_window(
            actor=cast["grid_worker_a"], binding=b, starts_at=now, ends_at=now, reason="x"
        )
    with pytest.raises(InvalidInput):
        actions.do_grant_window(actor=cast["grid_worker_a"], binding=b, starts_at=now,
                                ends_at=now + dt.timedelta(hours=13), reason="x")  # fmt: skip
    with pytest.raises(InvalidInput):
        actions.do_grant_window(actor=cast["grid_worker_a"], binding=b, starts_at=now,
                                ends_at=now + dt.timedelta(hours=1), reason="")  # fmt: skip
