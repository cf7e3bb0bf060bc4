"""The door-sensor part of the Huayang demo (issue 6), built through the sensor actions: sixty door
sensors from two vendors, about forty of them on the doors of the homes under home quarantine or home
health monitoring, and the last few days of what they reported, so the device list, the case's door
timeline, the alerts and the Today pages have a story.

- Devices (`do_register_device`): 36 from 蜀安物联, 24 from 天府智感; the rest stay in stock.
- Bindings (`do_bind_device`): up to 40 home cases under their measure with a household, chosen at
  random; each binding is moved back to when the case's measure began (at most 70 hours ago).
- Events (`do_ingest_events`, hour by hour, as the bridge would have stored them): a heartbeat every
  hour (the live simulator sends them every few minutes) with a battery that drains and a signal that
  wanders, and a last one a few minutes ago; the door opening and closing for each home sampling
  (`CaseTest.sampled_at`) and each supply delivered (`SupplyRequest.delivered_at`) — inside their
  allowed times, so no alert — and for the windows the team granted for a hospital visit
  (`do_grant_window`); seven openings outside any window and one tamper, which raise alerts.
- One sensor went silent half an hour ago (`do_flag_silent_sensors` raises its alert); one sensor's
  battery fell below 20 % (a work item to replace it).
- Alerts in every state (`do_acknowledge_alert`, `do_check_alert`, `do_close_alert`): the four oldest
  checked by phone or on site and closed, one checked, the tamper acknowledged, one new from a few
  minutes ago, and one left unacknowledged for forty minutes whose work item escalated to the community
  office (done as `do_escalate_overdue` does it, for that item alone: the demo leaves the other stages'
  overdue items as they are).
- Actions stamp "now"; the stage moves those stamps back to the simulated moments, as the control stage
  does; the audit log keeps the real times. Deterministic for a seed and a build time.
"""

from __future__ import annotations

import datetime as dt
import string
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from jiedao.control.choices import CaseStatus
from jiedao.control.models import CaseTest, ControlCase, SupplyRequest
from jiedao.core import audit
from jiedao.demo.control import _Crew
from jiedao.demo.state import BuildState
from jiedao.org.choices import Role
from jiedao.protocols.choices import MeasureType
from jiedao.sensors.actions import (
    do_acknowledge_alert,
    do_bind_device,
    do_check_alert,
    do_close_alert,
    do_flag_silent_sensors,
    do_grant_window,
    do_ingest_events,
    do_register_device,
    is_allowed,
)
from jiedao.sensors.choices import (
    OPEN_ALERT_STATUSES,
    AlertKind,
    AlertStatus,
    CheckMethod,
    EventKind,
    EventSource,
)
from jiedao.sensors.events import EventIn
from jiedao.sensors.models import AllowedWindow, Binding, DoorSensor, SensorAlert, SensorEvent
from jiedao.work.models import WorkItem

# (vendor, model, device ID prefix, how many)
VENDORS = [
    ("蜀安物联", "SA-MC21 NB-IoT 门磁", "SA-22", 36),
    ("天府智感", "TF-D3 LoRa 门磁", "TF-D3", 24),
]
BOUND = 40
HISTORY_HOURS = 70
LOW_BATTERY_NOW = 14  # % the flat sensor reports now
# Openings outside any allowed time, hours ago, and what became of each alert (in this order on the
# alert list): "closed" (with the check's method and what it found), "checked", "escalated", "new".
VIOLATIONS: list[tuple[float, str, str, str]] = [
    (54.3, "closed", CheckMethod.PHONE, "电话核实：本人下楼取快递，已批评教育并重申居家隔离要求"),
    (47.6, "closed", CheckMethod.ON_SITE, "上门核查：家属开门倒垃圾，本人未外出，已再次告知规定"),
    (31.2, "closed", CheckMethod.PHONE, "电话核实：外卖员敲门误开，已提醒无接触配送放门口"),
    (26.8, "closed", CheckMethod.ON_SITE, "上门核查：本人在家，门磁松动误报，已重新粘贴固定"),
    (7.4, "checked", CheckMethod.PHONE, "电话核实：本人称开门通风，已告知不得开门，待民警回访确认"),
    (0.67, "escalated", "", ""),
    (0.07, "new", "", ""),
]
TAMPER_HOURS_AGO = 1.5  # the tamper alert is acknowledged: the grid worker is on the way
CLOSE_NOTE = "已录入台账，继续关注"
HOSPITAL = "外出就医（天府新区人民医院复诊），闭环转运"
SILENT_MINUTES = 33  # the silent sensor's last heartbeat, minutes ago


@dataclass
class _Plan:
    """One sensor on a door: its binding and the events it will have reported."""

    binding: Binding
    device: DoorSensor
    since: dt.datetime  # events from here (the binding's start, or HISTORY_HOURS ago)
    events: list[tuple[dt.datetime, str]] = field(default_factory=list)
    battery: float = 90.0
    drain: float = 0.05  # % an hour
    rssi: int = -70
    silent: bool = False


class _Sensors:
    def __init__(self, state: BuildState) -> None:
        self.state = state
        self.rng = state.rng("sensors")
        self.now = timezone.now().replace(microsecond=0)
        self.crew = _Crew()
        self.devices: list[DoorSensor] = []
        self.plans: list[_Plan] = []
        self.counts: Counter[str] = Counter()

    # ---- devices and doors ------------------------------------------------------------------------

    def register(self) -> None:
        alphabet = string.ascii_letters + string.digits
        made: list[list[DoorSensor]] = []
        for vendor, model, prefix, n in VENDORS:
            mine = []
            for k in range(1, n + 1):
                secret = "".join(self.rng.choice(alphabet) for _ in range(32))
                device, _secret = do_register_device(
                    actor=self.crew.command,
                    device_id=f"{prefix}-{k:04d}",
                    vendor=vendor,
                    model=model,
                    secret=secret,
                )
                mine.append(device)
            made.append(mine)
        # interleave the vendors, so both are on doors and both in stock
        longest = max(len(m) for m in made)
        self.devices = [m[i] for i in range(longest) for m in made if i < len(m)]

    def home_cases(self) -> list[ControlCase]:
        """Cases at home under their measure, with a household to put a sensor on."""
        from jiedao.control.actions import current_phase

        today = timezone.localdate(self.now)
        homes = []
        for case in (
            ControlCase.objects.filter(
                status__in=(CaseStatus.ACTIVE, CaseStatus.MONITORING), household__isnull=False
            )
            .select_related("person")
            .order_by("pk")
        ):
            phase = case.plan["phases"][min(current_phase(case, today), len(case.plan["phases"]) - 1)]
            if phase["type"] in (MeasureType.HOME_QUARANTINE, MeasureType.HOME_MONITORING):
                homes.append(case)
        return homes

    def bind(self) -> None:
        homes = self.home_cases()
        chosen = sorted(self.rng.sample(homes, min(BOUND, len(homes))), key=lambda c: c.pk)
        tz = timezone.get_current_timezone()
        earliest = self.now - dt.timedelta(hours=HISTORY_HOURS)
        for case, device in zip(chosen, self.devices, strict=False):
            binding = do_bind_device(actor=self.crew.of(case, Role.COMMUNITY_STAFF), device=device, case=case)
            began = dt.datetime.combine(case.start_date, dt.time(10, self.rng.randint(0, 59)), tzinfo=tz)
            began = min(began, self.now - dt.timedelta(hours=2))
            Binding.objects.filter(pk=binding.pk).update(starts_at=began, created_at=began, updated_at=began)
            binding.starts_at = began
            plan = _Plan(
                binding=binding, device=device, since=max(began, earliest), battery=self.rng.uniform(62, 100),
                drain=self.rng.uniform(0.02, 0.09), rssi=self.rng.randint(-86, -55),
            )  # fmt: skip
            self.plans.append(plan)

    def settle_sampling_items(self) -> None:
        """A home sampling's work item was done when the sampler was at the door, not when the control
        stage entered the result (`do_record_test` finishes the item with the time of entry, which is the
        build's "now"). The door rules read that time as an allowed window, so it is moved to the
        sampling; otherwise every home would be in a window for half an hour around the build.
        (This belongs in the control stage; once it does it there, this finds nothing to move.)"""
        for case_id, day, sampled in CaseTest.objects.filter(sampled_at__isnull=False).values_list(
            "case_id", "test_date", "sampled_at"
        ):
            assert sampled is not None
            done = sampled + dt.timedelta(minutes=3)
            WorkItem.objects.filter(
                dedupe_key=f"control.test:{case_id}:{day.isoformat()}", kind="control.home_sampling",
                done_at__gt=sampled + dt.timedelta(hours=1),
            ).update(done_at=done)  # fmt: skip

    # ---- what the sensors reported ----------------------------------------------------------------

    def _door(self, plan: _Plan, at: dt.datetime, open_minutes: float) -> None:
        plan.events.append((at, EventKind.DOOR_OPEN))
        plan.events.append((at + dt.timedelta(minutes=open_minutes), EventKind.DOOR_CLOSE))

    def openings_in_windows(self) -> None:
        """The door opens for each home sampling and each delivery, and for a granted hospital visit."""
        by_case = {p.binding.case_id: p for p in self.plans}
        for case_id, sampled in CaseTest.objects.filter(
            case_id__in=by_case, sampled_at__isnull=False
        ).values_list("case_id", "sampled_at"):
            plan = by_case[case_id]
            assert sampled is not None
            at = sampled + dt.timedelta(minutes=self.rng.uniform(-4, 1))
            if plan.since < at < self.now - dt.timedelta(minutes=10):
                self._door(plan, at, self.rng.uniform(1, 3))
                self.counts["sampling_openings"] += 1
        for case_id, delivered in SupplyRequest.objects.filter(
            case_id__in=by_case, delivered_at__isnull=False
        ).values_list("case_id", "delivered_at"):
            plan = by_case[case_id]
            assert delivered is not None
            at = delivered + dt.timedelta(minutes=self.rng.uniform(2, 12))
            if plan.since < at < self.now - dt.timedelta(minutes=10):
                self._door(plan, at, self.rng.uniform(0.5, 2))
                self.counts["delivery_openings"] += 1
        tz = timezone.get_current_timezone()
        yesterday = timezone.localdate(self.now) - dt.timedelta(days=1)
        visits = [p for p in self.plans if p.since < dt.datetime.combine(yesterday, dt.time(13), tzinfo=tz)]
        for plan in self.rng.sample(visits, min(3, len(visits))):
            start = dt.datetime.combine(yesterday, dt.time(self.rng.choice((9, 14)), 0), tzinfo=tz)
            window = do_grant_window(
                actor=self.crew.of(plan.binding, Role.GRID_WORKER), binding=plan.binding, starts_at=start,
                ends_at=start + dt.timedelta(hours=3), reason=HOSPITAL,
            )  # fmt: skip
            granted = start - dt.timedelta(hours=self.rng.randint(2, 20))
            AllowedWindow.objects.filter(pk=window.pk).update(created_at=granted, updated_at=granted)
            self._door(plan, start + dt.timedelta(minutes=self.rng.uniform(5, 20)), 1.5)  # out with the team
            self._door(plan, start + dt.timedelta(minutes=self.rng.uniform(140, 170)), 1.0)  # back home
            self.counts["windows"] += 1

    def outside_windows(self) -> tuple[list[tuple[_Plan, dt.datetime, int]], _Plan | None]:
        """Openings outside any allowed time (each on a sensor on a door by then, not in a window) and
        one tamper; returns [(plan, when, index into VIOLATIONS)], and the tampered sensor's plan."""
        picked: list[tuple[_Plan, dt.datetime, int]] = []
        order = self.rng.sample(self.plans, len(self.plans))
        for k, (hours_ago, _state, _method, _outcome) in enumerate(VIOLATIONS):
            at = self.now - dt.timedelta(hours=hours_ago, seconds=self.rng.randint(0, 50))
            for n in range(len(order)):
                plan = order[(k + n) % len(order)]
                if plan.since < at and not plan.silent and not is_allowed(plan.binding, at):
                    self._door(plan, at, self.rng.uniform(0.5, 4))
                    picked.append((plan, at, k))
                    break
        tampered = None
        at = self.now - dt.timedelta(hours=TAMPER_HOURS_AGO)
        for plan in order:
            if plan.since < at and not plan.silent:
                plan.events.append((at, EventKind.TAMPER))
                tampered = plan
                break
        return picked, tampered

    def heartbeats(self) -> None:
        """Hourly in the history, then one a few minutes ago (the silent one stopped half an hour ago)."""
        for plan in self.plans:
            last = self.now - (
                dt.timedelta(minutes=SILENT_MINUTES) if plan.silent else dt.timedelta(minutes=self.rng.uniform(1, 4))
            )  # fmt: skip
            at = plan.since + dt.timedelta(minutes=self.rng.uniform(1, 59))
            while at < last - dt.timedelta(minutes=5):
                plan.events.append((at, EventKind.HEARTBEAT))
                at += dt.timedelta(hours=1)
            plan.events.append((last, EventKind.HEARTBEAT))

    def pick_special(self) -> None:
        """The silent sensor and the flat one: two different sensors that were on their doors early."""
        early = sorted(self.plans, key=lambda p: (p.since, p.binding.pk))
        if early:
            early[0].silent = True
        if len(early) > 1:
            flat = early[1]
            hours = (self.now - flat.since).total_seconds() / 3600
            flat.drain = self.rng.uniform(0.3, 0.4)
            flat.battery = LOW_BATTERY_NOW + flat.drain * hours

    def ingest(self) -> None:
        """Every planned event, with its sequence number, through `do_ingest_events` hour by hour."""
        by_hour: dict[dt.datetime, list[EventIn]] = defaultdict(list)
        for plan in self.plans:
            plan.events.sort()
            if plan.silent:
                cutoff = self.now - dt.timedelta(minutes=SILENT_MINUTES - 1)
                plan.events = [(at, kind) for at, kind in plan.events if at < cutoff]
            for seq, (at, kind) in enumerate(plan.events, start=1):
                hours = (at - plan.since).total_seconds() / 3600
                battery = max(1, round(plan.battery - plan.drain * hours))
                rssi = max(-110, min(-40, plan.rssi + self.rng.randint(-4, 4)))
                reports = kind in (EventKind.HEARTBEAT, EventKind.TAMPER)
                event = EventIn(
                    device_id=plan.device.device_id, seq=seq, kind=kind, occurred_at=at,
                    battery=battery if reports else None, signal=rssi,
                )  # fmt: skip
                by_hour[at.replace(minute=0, second=0, microsecond=0)].append(event)
        for hour in sorted(by_hour):
            batch = by_hour[hour]
            received = min(max(e.occurred_at for e in batch) + dt.timedelta(seconds=3), self.now)
            result = do_ingest_events(batch, EventSource.MQTT, now=received)
            assert not result.rejected, result.rejected[:3]
            self.counts["events"] += result.applied
        # Each alert was raised the moment its event came in, and its work item was due five minutes on.
        ack = dt.timedelta(minutes=getattr(settings, "SENSOR_ACK_MINUTES", 5))
        for alert in SensorAlert.objects.select_related("event"):
            raised = alert.occurred_at + dt.timedelta(seconds=self.rng.randint(2, 9))
            SensorAlert.objects.filter(pk=alert.pk).update(
                raised_at=raised, created_at=raised, updated_at=raised
            )
            WorkItem.objects.filter(pk=alert.work_item_id or 0).update(
                created_at=raised, updated_at=raised, due_at=raised + ack
            )

    # ---- following the alerts up ------------------------------------------------------------------

    def follow_up(self, picked: list[tuple[_Plan, dt.datetime, int]], tampered: _Plan | None) -> None:
        for plan, at, k in picked:
            _hours, state, method, outcome = VIOLATIONS[k]
            alert = SensorAlert.objects.get(binding=plan.binding, kind=AlertKind.DOOR_OPEN, occurred_at=at)
            worker = self.crew.of(plan.binding, Role.GRID_WORKER)
            if state == "escalated":
                self._escalate(alert)
                continue
            if state == "new":
                continue
            ack_at = alert.raised_at + dt.timedelta(minutes=self.rng.uniform(1.5, 4.5))
            do_acknowledge_alert(actor=worker, alert=alert)
            checked_at = ack_at + dt.timedelta(minutes=self.rng.uniform(8, 45))
            do_check_alert(actor=worker, alert=alert, method=method, outcome=outcome)
            stamps: dict[str, Any] = {
                "acknowledged_at": ack_at,
                "checked_at": checked_at,
                "updated_at": checked_at,
            }
            item: dict[str, Any] = {"started_at": ack_at, "updated_at": checked_at}
            if state == "closed":
                closed_at = checked_at + dt.timedelta(minutes=self.rng.uniform(5, 30))
                do_close_alert(
                    actor=self.crew.of(plan.binding, Role.COMMUNITY_STAFF), alert=alert, note=CLOSE_NOTE
                )
                stamps.update(closed_at=closed_at, updated_at=closed_at)
                item.update(done_at=closed_at, updated_at=closed_at)
            SensorAlert.objects.filter(pk=alert.pk).update(**stamps)
            WorkItem.objects.filter(pk=alert.work_item_id or 0).update(**item)
        if tampered is not None:
            alert = SensorAlert.objects.get(binding=tampered.binding, kind=AlertKind.TAMPER)
            do_acknowledge_alert(actor=self.crew.of(tampered.binding, Role.GRID_WORKER), alert=alert)
            ack_at = alert.raised_at + dt.timedelta(minutes=self.rng.uniform(2, 6))
            SensorAlert.objects.filter(pk=alert.pk).update(acknowledged_at=ack_at, updated_at=ack_at)
            WorkItem.objects.filter(pk=alert.work_item_id or 0).update(started_at=ack_at, updated_at=ack_at)

    def _escalate(self, alert: SensorAlert) -> None:
        """Nobody acknowledged it: its urgent work item went to the community office once it was late."""
        item = WorkItem.objects.get(pk=alert.work_item_id or 0)
        target = self.crew.of(alert, Role.COMMUNITY_STAFF)
        at = item.due_at + dt.timedelta(seconds=self.rng.randint(20, 59))
        WorkItem.objects.filter(pk=item.pk, escalated_at__isnull=True).update(
            escalated_at=at, escalated_to=target, updated_at=at
        )
        audit.record(
            actor=None, action="work.escalate", obj=item,
            changes={"escalated_to": target.username, "due_at": item.due_at},
            reason=f"overdue by more than {settings.WORK_ESCALATE_AFTER_MINUTES} minutes",
        )  # fmt: skip
        self.counts["escalated"] += 1

    def silence(self) -> None:
        """The job that runs every minute noticed the silent sensor a moment ago."""
        for alert in do_flag_silent_sensors(self.now):
            raised = self.now - dt.timedelta(minutes=self.rng.uniform(1, 2))
            SensorAlert.objects.filter(pk=alert.pk).update(
                raised_at=raised, created_at=raised, updated_at=raised
            )
            WorkItem.objects.filter(pk=alert.work_item_id or 0).update(created_at=raised, updated_at=raised)
            self.counts["silent"] += 1


def build_sensors(state: BuildState) -> None:
    started = time.perf_counter()
    story = _Sensors(state)
    story.settle_sampling_items()
    story.register()
    story.bind()
    story.pick_special()
    story.openings_in_windows()
    picked, tampered = story.outside_windows()
    story.heartbeats()
    story.ingest()
    story.follow_up(picked, tampered)
    story.silence()
    counts = _counts(story)
    state.counts.update(counts)
    audit.record(actor=None, action="demo.build_sensors", changes=counts)
    state.say(
        "sensors",
        f"{counts['sensors_devices']} door sensors ({counts['sensors_bound']} on doors), "
        f"{counts['sensors_events']:,} events, {counts['sensors_alerts']} alerts",
        started,
    )


def _counts(story: _Sensors) -> dict[str, int]:
    statuses = dict(
        SensorAlert.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    kinds = dict(SensorAlert.objects.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    return {
        "sensors_devices": DoorSensor.objects.count(),
        "sensors_vendors": DoorSensor.objects.values("vendor").distinct().count(),
        "sensors_bound": Binding.objects.filter(ends_at__isnull=True).count(),
        "sensors_events": SensorEvent.objects.count(),
        "sensors_windows": AllowedWindow.objects.count(),
        "sensors_alerts": sum(statuses.values()),
        "sensors_alerts_open": sum(statuses.get(s, 0) for s in OPEN_ALERT_STATUSES),
        "sensors_alerts_new": statuses.get(AlertStatus.NEW, 0),
        "sensors_alerts_acknowledged": statuses.get(AlertStatus.ACKNOWLEDGED, 0),
        "sensors_alerts_checked": statuses.get(AlertStatus.CHECKED, 0),
        "sensors_alerts_closed": statuses.get(AlertStatus.CLOSED, 0),
        "sensors_alerts_escalated": SensorAlert.objects.filter(work_item__escalated_at__isnull=False).count(),
        "sensors_alerts_door": kinds.get(AlertKind.DOOR_OPEN, 0),
        "sensors_alerts_tamper": kinds.get(AlertKind.TAMPER, 0),
        "sensors_silent": kinds.get(AlertKind.OFFLINE, 0),
        "sensors_low_battery": DoorSensor.objects.filter(
            Q(battery__lt=20), bindings__ends_at__isnull=True
        ).count(),
        "sensors_battery_items": WorkItem.objects.filter(kind="sensors.battery").count(),
    }


def summary_lines(counts: dict[str, Any]) -> list[str]:
    """What the sensors stage built, for the printed summary."""
    if not counts.get("sensors_devices"):
        return []
    return [
        f"Door sensors: {counts['sensors_devices']} from {counts.get('sensors_vendors', 0)} vendors "
        f"({counts.get('sensors_bound', 0)} on the doors of homes under control), "
        f"{counts.get('sensors_events', 0):,} events in the last {HISTORY_HOURS} hours, "
        f"{counts.get('sensors_alerts', 0)} alerts ({counts.get('sensors_alerts_new', 0)} new, "
        f"{counts.get('sensors_alerts_acknowledged', 0)} acknowledged, {counts.get('sensors_alerts_checked', 0)} "
        f"checked, {counts.get('sensors_alerts_closed', 0)} closed; {counts.get('sensors_alerts_escalated', 0)} "
        f"escalated), {counts.get('sensors_silent', 0)} silent, {counts.get('sensors_low_battery', 0)} "
        "with a low battery",
    ]
