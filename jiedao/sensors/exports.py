"""The device list and the door alerts as Excel ledgers; each export is audited with its filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core import audit
from jiedao.core.ledger import Column, Ledger, write_xlsx
from jiedao.sensors.models import Binding, DoorSensor, SensorAlert

EXPORT_MAX_ROWS = 100_000
CHUNK = 1000


def _chunks(qs: QuerySet[Any]) -> Iterator[list[Any]]:
    """The rows a thousand at a time (prefetching works per chunk, so a big ledger stays a few queries a
    thousand rows, never one per row)."""
    start = 0
    while True:
        chunk = list(qs[start : start + CHUNK])
        if not chunk:
            return
        yield chunk
        start += CHUNK


def devices_xlsx(
    *, actor: Any, queryset: QuerySet[DoorSensor], bindings: QuerySet[Binding], filters: dict[str, Any]
) -> Ledger:
    """The devices with their health and, where the user may see it, the door each one is on."""
    columns = [
        Column(_("Device ID"), 18, text=True), Column(_("Vendor"), 14), Column(_("Model"), 14),
        Column(_("Status"), 10), Column(_("Address"), 30), Column(_("Person"), 12), Column(_("Last seen"), 16),
        Column(_("Battery (%)")), Column(_("Signal (dBm)")), Column(_("Door")),
    ]  # fmt: skip
    qs = queryset.prefetch_related(
        Prefetch("bindings", queryset=bindings.filter(ends_at__isnull=True), to_attr="open_bindings")
    )

    def rows() -> Iterator[list[Any]]:
        for chunk in _chunks(qs):
            for d in chunk:
                b = d.open_bindings[0] if d.open_bindings else None
                yield [
                    d.device_id, d.vendor.name, d.model, str(d.get_status_display()),
                    b.household.address if b else "", b.case.person.name if b and b.case else "",
                    d.last_seen_at, d.battery, d.signal,
                    (_("open") if d.door_open else _("closed")) if d.last_seen_at else "",
                ]  # fmt: skip

    ledger = write_xlsx(_("Door sensors"), columns, rows(), max_rows=EXPORT_MAX_ROWS)
    audit.record(actor=actor, action="sensors.export_devices", object_type="sensors.device",
                 changes={"filters": filters, "rows": ledger.rows})  # fmt: skip
    return ledger


def alerts_xlsx(*, actor: Any, queryset: QuerySet[SensorAlert], filters: dict[str, Any]) -> Ledger:
    """The door alerts, each with how it was followed up."""
    columns = [
        Column(_("Raised"), 16), Column(_("Kind"), 18), Column(_("Status"), 10), Column(_("Person"), 12),
        Column(_("Address"), 30), Column(_("Device ID"), 16, text=True), Column(_("Happened"), 16),
        Column(_("Acknowledged"), 16), Column(_("Checked"), 16), Column(_("Checked how"), 10),
        Column(_("Outcome"), 40), Column(_("Closed"), 16), Column(_("Minutes open")), Column(_("Escalated"), 16),
        Column(_("Community"), 14), Column(_("Grid"), 14),
    ]  # fmt: skip
    now = timezone.now()

    def rows() -> Iterator[list[Any]]:
        for a in queryset.iterator(chunk_size=CHUNK):
            yield [
                a.raised_at, str(a.get_kind_display()), str(a.get_status_display()),
                a.case.person.name if a.case else "", a.binding.household.address, a.device.device_id,
                a.occurred_at, a.acknowledged_at, a.checked_at, str(a.get_check_method_display()) if a.check_method else "",
                a.outcome, a.closed_at, a.minutes_open(now), a.work_item.escalated_at if a.work_item else None,
                a.community.name if a.community else "", a.grid.name if a.grid else "",
            ]  # fmt: skip

    ledger = write_xlsx(_("Door alerts"), columns, rows(), max_rows=EXPORT_MAX_ROWS)
    audit.record(actor=actor, action="sensors.export_alerts", object_type="sensors.alert",
                 changes={"filters": filters, "rows": ledger.rows})  # fmt: skip
    return ledger
