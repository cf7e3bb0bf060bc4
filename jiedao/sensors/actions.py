"""Writes for door sensors: register devices, put them on a home's door for a control case and take them
off, take in events (each once, by device and sequence number) and apply the rules — a door opened
outside an allowed window, a tamper or a silent sensor raises an alert; a low battery a work item — and
follow alerts up to the end."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.control.choices import CaseStatus
from jiedao.control.models import ControlCase
from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.org.choices import Role
from jiedao.registry.models import Household
from jiedao.sensors.choices import (
    OPEN_ALERT_STATUSES,
    AlertKind,
    AlertStatus,
    CheckMethod,
    DeviceStatus,
    EventKind,
    EventSource,
    WindowSource,
)
from jiedao.sensors.events import DEVICE_ID, EventIn
from jiedao.sensors.models import (
    AllowedWindow,
    Binding,
    DoorSensor,
    SensorAlert,
    SensorEvent,
    Vendor,
    WebhookReceipt,
)
from jiedao.sensors.queries import HANDLE_ROLES, MANAGE_ROLES, can, can_in_area
from jiedao.work.choices import Priority

log = logging.getLogger("jiedao.sensors")
UNDER_MEASURE = (CaseStatus.ACTIVE, CaseStatus.MONITORING, CaseStatus.PENDING)
LOW_BATTERY = 20  # percent: below this, a work item to replace it


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def silent_after() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "SENSOR_SILENT_AFTER_MINUTES", 30))


def ack_within() -> dt.timedelta:
    return dt.timedelta(minutes=getattr(settings, "SENSOR_ACK_MINUTES", 5))


# ---- devices and bindings ------------------------------------------------------------------------


def do_register_device(
    *, actor: Any, device_id: str, vendor: str, model: str = "", secret: str = ""
) -> tuple[DoorSensor, str]:
    """A new device in stock. Its webhook secret is generated unless given; returns it once to show."""
    if actor is not None and not can(actor, MANAGE_ROLES):
        raise Forbidden(_("Only the community office or the command centre registers door sensors."))
    device_id = (device_id or "").strip()
    if not DEVICE_ID.match(device_id):
        raise InvalidInput(
            _("A device ID has 1–64 letters, digits and . _ : - and starts with a letter or digit."),
            field="device_id",
        )
    vendor = (vendor or "").strip()
    if not vendor or len(vendor) > 64:
        raise InvalidInput(_("Name the vendor (up to 64 characters)."), field="vendor")
    secret = (secret or "").strip() or secrets.token_urlsafe(24)
    if len(secret) < 16:
        raise InvalidInput(_("A secret has at least 16 characters."), field="secret")
    with transaction.atomic():
        v, _created = Vendor.objects.get_or_create(name=vendor, defaults={"created_by": _user(actor)})
        device = DoorSensor(device_id=device_id, vendor=v, model=(model or "").strip()[:64], secret=secret,
                        created_by=_user(actor), updated_by=_user(actor))  # fmt: skip
        try:
            with transaction.atomic():
                device.save()
        except IntegrityError:
            raise Conflict(_("A device with this ID is registered already."), field="device_id")
        audit.record(actor=actor, action="sensors.register_device", obj=device,
                     changes={"device_id": device_id, "vendor": vendor, "model": device.model})  # fmt: skip
    return device, secret


def do_bind_device(
    *, actor: Any, device: DoorSensor, case: ControlCase, household: Household | None = None
) -> Binding:
    """Put a device in stock on the door of the case's home, until the case ends."""
    if actor is not None and not can_in_area(actor, MANAGE_ROLES, case):
        raise Forbidden(_("Only the community office or the command centre puts sensors on doors."))
    household = household or case.household
    if household is None:
        raise InvalidInput(_("This case has no home to put a sensor on."), field="household")
    if case.status not in UNDER_MEASURE:
        raise Conflict(_("This case is already closed."))
    with transaction.atomic():
        fresh = DoorSensor.objects.select_for_update().get(pk=device.pk)
        if fresh.status != DeviceStatus.IN_STOCK:
            raise Conflict(_("This sensor is %(status)s, not in stock.") % {"status": fresh.get_status_display()},
                           field="device")  # fmt: skip
        binding = Binding(
            device=fresh, household=household, case=case, community_id=case.community_id, grid_id=case.grid_id,
            starts_at=timezone.now(), created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        try:
            with transaction.atomic():
                binding.save()
        except IntegrityError:
            raise Conflict(_("This sensor is on another door."), field="device")
        fresh.status = DeviceStatus.BOUND
        fresh.save(update_fields=["status", "updated_at"])
        audit.record(actor=actor, action="sensors.bind_device", obj=binding,
                     changes={"device": fresh.device_id, "household": household.pk, "case": case.pk})  # fmt: skip
    return binding


def do_unbind_device(*, actor: Any, binding: Binding, reason: str) -> Binding:
    """Take the device off the door (the case ended, or the device is replaced): back in stock."""
    if actor is not None and not can_in_area(actor, MANAGE_ROLES, binding):
        raise Forbidden(_("Only the community office or the command centre takes sensors off doors."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the sensor comes off."), field="reason")
    with transaction.atomic():
        fresh = Binding.objects.select_for_update().get(pk=binding.pk)
        if fresh.ends_at is not None:
            raise Conflict(_("This sensor is off that door already."))
        fresh.ends_at, fresh.end_reason, fresh.updated_by = timezone.now(), reason[:200], _user(actor)
        fresh.save(update_fields=["ends_at", "end_reason", "updated_by", "updated_at"])
        DoorSensor.objects.filter(pk=fresh.device_id).update(
            status=DeviceStatus.IN_STOCK, updated_at=timezone.now()
        )
        audit.record(actor=actor, action="sensors.unbind_device", obj=fresh, reason=reason)
    return fresh


def end_case_bindings(actor: Any, case: Any, why: str) -> dict[str, int]:
    """Control's hook: a released or cancelled case takes its sensors off (its open alerts close)."""
    now = timezone.now()
    open_bindings = list(
        Binding.objects.filter(case_id=case.pk, ends_at__isnull=True).values_list("pk", "device_id")
    )
    if not open_bindings:
        return {}
    Binding.objects.filter(pk__in=[b for b, _d in open_bindings]).update(
        ends_at=now, end_reason=why[:200], updated_at=now
    )
    DoorSensor.objects.filter(pk__in=[d for _b, d in open_bindings]).update(
        status=DeviceStatus.IN_STOCK, updated_at=now
    )
    alerts = SensorAlert.objects.filter(
        binding_id__in=[b for b, _d in open_bindings], status__in=OPEN_ALERT_STATUSES
    )
    closed = alerts.update(status=AlertStatus.CLOSED, closed_at=now, outcome=why[:300], updated_at=now)
    return {"sensor_bindings": len(open_bindings), "sensor_alerts": closed}


def do_grant_window(
    *, actor: Any, binding: Binding, starts_at: dt.datetime, ends_at: dt.datetime, reason: str
) -> AllowedWindow:
    """The team allows the door to open for a while (a hospital visit, a delivery at an agreed time)."""
    if actor is not None and not can_in_area(actor, HANDLE_ROLES, binding):
        raise Forbidden(
            _("Only the care team's office, grid worker, doctor or police liaison grant windows.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the door may open."), field="reason")
    if not isinstance(starts_at, dt.datetime) or not isinstance(ends_at, dt.datetime) or ends_at <= starts_at:
        raise InvalidInput(_("A window ends after it starts."), field="ends_at")
    if ends_at - starts_at > dt.timedelta(hours=12):
        raise InvalidInput(_("A window lasts at most 12 hours."), field="ends_at")
    if not binding.is_open:
        raise Conflict(_("This sensor is off that door already."))
    with transaction.atomic():
        window = AllowedWindow.objects.create(
            binding=binding, starts_at=starts_at, ends_at=ends_at, source=WindowSource.GRANTED, reason=reason[:200],
            created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        audit.record(actor=actor, action="sensors.grant_window", obj=binding,
                     changes={"from": starts_at, "until": ends_at}, reason=reason)  # fmt: skip
    return window


# ---- windows in which the door may open ----------------------------------------------------------

AROUND = dt.timedelta(minutes=30)


def is_allowed(binding: Binding, at: dt.datetime) -> bool:
    """A window covers `at`: one granted or recorded for the binding, or within half an hour of it a
    supply delivered to the case, a sample taken (its sampling time) or a home-sampling visit started."""
    if binding.windows.filter(starts_at__lte=at, ends_at__gte=at).exists():
        return True
    if binding.case_id is None:
        return False
    from jiedao.control.models import CaseTest, SupplyRequest
    from jiedao.work.models import WorkItem

    near = {"gte": at - AROUND, "lte": at + AROUND}
    if SupplyRequest.objects.filter(
        case_id=binding.case_id, delivered_at__range=(near["gte"], near["lte"])
    ).exists():
        return True
    if CaseTest.objects.filter(
        case_id=binding.case_id, sampled_at__range=(near["gte"], near["lte"])
    ).exists():
        return True
    # The sampler pressed Start at the door (a result entered later says nothing about the door).
    return WorkItem.objects.filter(
        kind="control.home_sampling", subject_type="control.controlcase", subject_id=str(binding.case_id),
        started_at__range=(near["gte"], near["lte"]),
    ).exists()  # fmt: skip


# ---- events in -----------------------------------------------------------------------------------


@dataclass
class IngestResult:
    applied: int = 0  # new events stored
    duplicates: int = 0  # seen before (a redelivery): nothing done
    rejected: list[tuple[EventIn, str]] = field(default_factory=list)
    alerts: list[SensorAlert] = field(default_factory=list)


def do_ingest_events(events: Iterable[EventIn], source: str, now: dt.datetime | None = None) -> IngestResult:
    """Store the events not seen before and apply the rules to them, in one transaction. Unknown devices
    and retired ones are rejected (the caller logs them); the same (device, seq) again is a duplicate."""
    now = now or timezone.now()
    items = list(events)
    result = IngestResult()
    if not items:
        return result
    devices = {d.device_id: d for d in DoorSensor.objects.filter(device_id__in={e.device_id for e in items})}
    keyed: dict[tuple[int, int], EventIn] = {}
    for e in items:
        device = devices.get(e.device_id)
        if device is None:
            result.rejected.append((e, "unknown device"))
        elif device.status == DeviceStatus.RETIRED:
            result.rejected.append((e, "retired device"))
        elif (device.pk, e.seq) in keyed:
            result.duplicates += 1
        else:
            keyed[(device.pk, e.seq)] = e
    if not keyed:
        return result
    with transaction.atomic():
        ids = {pk for pk, _s in keyed}
        seen = set(
            SensorEvent.objects.filter(device_id__in=ids, seq__in={s for _d, s in keyed}).values_list(
                "device_id", "seq"
            )
        )
        fresh = {k: e for k, e in keyed.items() if k not in seen}
        result.duplicates += len(keyed) - len(fresh)
        if not fresh:
            return result
        bindings: dict[int, list[Binding]] = {}
        for b in (
            Binding.objects.filter(device_id__in={d for d, _s in fresh})
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gte=min(e.occurred_at for e in fresh.values())))
            .select_related("case", "case__person")
        ):
            bindings.setdefault(b.device_id, []).append(b)

        def binding_at(device_pk: int, at: dt.datetime) -> Binding | None:
            for b in bindings.get(device_pk, []):
                if b.starts_at <= at and (b.ends_at is None or at < b.ends_at):
                    return b
            return None

        rows = [
            SensorEvent(
                device_id=d, seq=s, kind=e.kind, occurred_at=e.occurred_at, received_at=now, source=source,
                battery=e.battery, signal=e.signal, binding=binding_at(d, e.occurred_at),
            )
            for (d, s), e in sorted(fresh.items(), key=lambda kv: kv[1].occurred_at)
        ]  # fmt: skip
        SensorEvent.objects.bulk_create(rows, ignore_conflicts=True)
        ours = SensorEvent.objects.filter(
            device_id__in={d for d, _s in fresh}, seq__in={s for _d, s in fresh}, received_at=now
        )
        stored = {(ev.device_id, ev.seq): ev for ev in ours}
        result.applied = len(stored)
        result.duplicates += len(fresh) - len(stored)  # a concurrent writer stored them first
        _update_health(devices, stored.values())
        for ev in sorted(stored.values(), key=lambda x: (x.occurred_at, x.pk)):
            alert = _apply_rules(ev, binding_at(ev.device_id, ev.occurred_at), now)
            if alert is not None:
                result.alerts.append(alert)
    return result


def do_take_webhook(*, signature: str, events: list[EventIn]) -> IngestResult:
    """A signed webhook request's events, taken once: its signature is recorded in the same transaction,
    so the same signed request again is refused as a replay (Conflict) and changes nothing."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookReceipt.objects.create(signature=(signature or "").strip().lower()[:64])
        except IntegrityError:
            raise Conflict(_("This signed request was received already (a replay)."))
        return do_ingest_events(events, EventSource.HTTP)


def _update_health(devices: dict[str, DoorSensor], events: Iterable[SensorEvent]) -> None:
    """Each device's last-seen time and door state from its latest event, battery and signal from the
    latest event that carries them; an old event arriving late changes nothing."""
    by_pk = {d.pk: d for d in devices.values()}
    changes: dict[int, dict[str, Any]] = {}
    for ev in sorted(events, key=lambda e: (e.occurred_at, e.seq)):
        device = by_pk[ev.device_id]
        if device.last_seen_at is not None and (ev.occurred_at, ev.seq) <= (
            device.last_seen_at,
            device.last_seq,
        ):
            continue
        c = changes.setdefault(ev.device_id, {"last_seq": device.last_seq})
        c["last_seen_at"] = ev.occurred_at
        c["last_seq"] = max(c["last_seq"], ev.seq)
        if ev.battery is not None:
            c["battery"] = ev.battery
        if ev.signal is not None:
            c["signal"] = ev.signal
        if ev.kind in (EventKind.DOOR_OPEN, EventKind.DOOR_CLOSE):
            c["door_open"] = ev.kind == EventKind.DOOR_OPEN
    for pk, c in changes.items():
        DoorSensor.objects.filter(pk=pk).update(**c)


def _apply_rules(ev: SensorEvent, binding: Binding | None, now: dt.datetime) -> SensorAlert | None:
    if binding is None:
        return None
    if ev.battery is not None and ev.battery < LOW_BATTERY:
        _battery_item(ev, binding)
    case = binding.case
    if ev.kind == EventKind.TAMPER:
        return _raise(AlertKind.TAMPER, binding, ev.occurred_at, event=ev)
    opened = ev.kind == EventKind.DOOR_OPEN and case is not None and case.status in UNDER_MEASURE
    if opened and not is_allowed(binding, ev.occurred_at):
        return _raise(AlertKind.DOOR_OPEN, binding, ev.occurred_at, event=ev)
    return None


def _battery_item(ev: SensorEvent, binding: Binding) -> None:
    from jiedao.work.actions import do_create_work_item

    day = timezone.localtime(ev.occurred_at).date().isoformat()
    do_create_work_item(
        actor=None, kind="sensors.battery", due_at=timezone.now() + dt.timedelta(hours=24), community=binding.community,
        grid=binding.grid, role=Role.GRID_WORKER, priority=Priority.NORMAL, subject=binding.device,
        title=(_("Replace the battery of door sensor %(device)s (%(pct)s%%)")
               % {"device": binding.device.device_id, "pct": ev.battery})[:200],
        dedupe_key=f"sensors.battery:{binding.device_id}:{day}",
    )  # fmt: skip


def _raise(
    kind: str, binding: Binding, occurred_at: dt.datetime, event: SensorEvent | None = None
) -> SensorAlert | None:
    """A new alert and its urgent work item for the binding's grid worker, due at once (so the work
    escalation reaches the supervisor if nobody acknowledges it in SENSOR_ACK_MINUTES)."""
    from jiedao.work.actions import do_create_work_item

    alert = SensorAlert(
        kind=kind, device_id=binding.device_id, binding=binding, case_id=binding.case_id, event=event,
        community_id=binding.community_id, grid_id=binding.grid_id, occurred_at=occurred_at,
    )  # fmt: skip
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return None  # the same silent sensor is already alerted
    who = binding.case.person.name if binding.case_id and binding.case else binding.device.device_id
    label = AlertKind(kind).label
    alert.work_item = do_create_work_item(
        actor=None, kind=f"sensors.{kind}", title=(f"{label}: {who}")[:200], due_at=timezone.now() + ack_within(),
        community=binding.community, grid=binding.grid, role=Role.GRID_WORKER, priority=Priority.URGENT,
        subject=alert, dedupe_key=f"sensors.alert:{alert.pk}",
    )  # fmt: skip
    alert.save(update_fields=["work_item"])
    audit.record(actor=None, action="sensors.raise_alert", obj=alert,
                 changes={"kind": kind, "device": binding.device.device_id, "at": occurred_at})  # fmt: skip
    log.info("alert %s: %s on %s at %s", alert.pk, kind, binding.device.device_id, occurred_at.isoformat())
    return alert


def do_flag_silent_sensors(now: dt.datetime | None = None) -> list[SensorAlert]:
    """Sensors on a door that have said nothing for SENSOR_SILENT_AFTER_MINUTES raise an alert (once
    until it is closed)."""
    now = now or timezone.now()
    cutoff = now - silent_after()
    raised = []
    for binding in (
        Binding.objects.filter(ends_at__isnull=True, starts_at__lt=cutoff)
        .filter(Q(device__last_seen_at__lt=cutoff) | Q(device__last_seen_at__isnull=True))
        .exclude(
            Exists(
                SensorAlert.objects.filter(
                    binding=OuterRef("pk"), kind=AlertKind.OFFLINE, status__in=OPEN_ALERT_STATUSES
                )
            )
        )
        .select_related("device", "case__person", "community", "grid")
    ):
        with transaction.atomic():
            alert = _raise(AlertKind.OFFLINE, binding, binding.device.last_seen_at or binding.starts_at)
        if alert is not None:
            raised.append(alert)
    return raised


# ---- following an alert up -----------------------------------------------------------------------


def _lock_alert(alert: SensorAlert) -> SensorAlert:
    return SensorAlert.objects.select_for_update().get(pk=alert.pk)


def _require_handler(actor: Any, alert: SensorAlert) -> None:
    if actor is not None and not can_in_area(actor, HANDLE_ROLES, alert):
        raise Forbidden(
            _("Only the care team's office, grid worker, doctor or police liaison handle door alerts.")
        )


def _work(alert: SensorAlert, status: str, outcome: str = "") -> None:
    from jiedao.work.choices import OPEN_STATUSES
    from jiedao.work.models import WorkItem

    if not alert.work_item_id:
        return
    changes: dict[str, Any] = {"status": status, "updated_at": timezone.now()}
    if status == "in_progress":
        changes["started_at"] = timezone.now()
    else:
        changes.update(done_at=timezone.now(), outcome=outcome[:2000])
    WorkItem.objects.filter(pk=alert.work_item_id, status__in=OPEN_STATUSES).update(**changes)


def do_acknowledge_alert(*, actor: Any, alert: SensorAlert) -> SensorAlert:
    """Someone has seen it and takes it (stops the escalation clock)."""
    _require_handler(actor, alert)
    with transaction.atomic():
        fresh = _lock_alert(alert)
        if fresh.status != AlertStatus.NEW:
            raise Conflict(_("This alert is %(status)s already.") % {"status": fresh.get_status_display()})
        fresh.status, fresh.acknowledged_at, fresh.acknowledged_by = (
            AlertStatus.ACKNOWLEDGED,
            timezone.now(),
            _user(actor),
        )
        fresh.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
        _work(fresh, "in_progress")
        audit.record(actor=actor, action="sensors.acknowledge_alert", obj=fresh)
    return fresh


def do_check_alert(*, actor: Any, alert: SensorAlert, method: str, outcome: str) -> SensorAlert:
    """What a call or a visit found (e.g. "took the rubbish out; told the rules again")."""
    _require_handler(actor, alert)
    if method not in CheckMethod.values:
        raise InvalidInput(_("Say how it was checked: by phone or on site."), field="method")
    outcome = (outcome or "").strip()
    if not outcome:
        raise InvalidInput(_("Write what the check found."), field="outcome")
    with transaction.atomic():
        fresh = _lock_alert(alert)
        if fresh.status not in (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED):
            raise Conflict(_("This alert is %(status)s already.") % {"status": fresh.get_status_display()})
        now = timezone.now()
        if fresh.acknowledged_at is None:
            fresh.acknowledged_at, fresh.acknowledged_by = now, _user(actor)
        fresh.status, fresh.checked_at, fresh.checked_by = AlertStatus.CHECKED, now, _user(actor)
        fresh.check_method, fresh.outcome = method, outcome[:300]
        fresh.save()
        audit.record(
            actor=actor,
            action="sensors.check_alert",
            obj=fresh,
            changes={"method": method, "outcome": outcome},
        )
    return fresh


def do_close_alert(*, actor: Any, alert: SensorAlert, note: str = "") -> SensorAlert:
    """Closed after its check (its work item is done)."""
    _require_handler(actor, alert)
    with transaction.atomic():
        fresh = _lock_alert(alert)
        if fresh.status != AlertStatus.CHECKED:
            raise Conflict(_("Check the alert (by phone or on site) before closing it."))
        fresh.status, fresh.closed_at = AlertStatus.CLOSED, timezone.now()
        if note.strip():
            fresh.outcome = f"{fresh.outcome} {note.strip()}"[:300]
        fresh.save(update_fields=["status", "closed_at", "outcome", "updated_at"])
        _work(fresh, "done", fresh.outcome)
        audit.record(actor=actor, action="sensors.close_alert", obj=fresh)
    return fresh
