"""The case ledger as Excel (masked numbers), and the daily counts behind its chart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.control.choices import CaseStatus
from jiedao.core.ledger import Column, Ledger, write_xlsx
from jiedao.protocols.choices import MeasureType
from jiedao.screening.exports import category_label

EXPORT_MAX_ROWS = 200_000


def cases_xlsx(queryset: Any) -> Ledger:
    columns = [
        Column(_("Name"), 12), Column(_("Document number"), 22, text=True), Column(_("Phone"), 14, text=True),
        Column(_("Category"), 18), Column(_("Measure"), 16), Column(_("Status"), 14), Column(_("Starts")),
        Column(_("Ends")), Column(_("Day")), Column(_("Community"), 14), Column(_("Grid"), 14),
        Column(_("Household"), 30),
    ]  # fmt: skip
    today = timezone.localdate()

    def row(c: Any) -> list[Any]:
        return [
            c.person.name, c.person.id_masked, c.person.phone_masked, category_label(c.protocol_key, c.category),
            str(MeasureType(c.measure_type).label), str(c.get_status_display()), c.start_date, c.end_date,
            c.day_of(today) if c.is_open else None, c.community.name if c.community else "",
            c.grid.name if c.grid else "", c.household.address if c.household else "",
        ]  # fmt: skip

    rows = map(row, queryset.select_related("household").iterator(chunk_size=2000))
    return write_xlsx(_("Control cases"), columns, rows, max_rows=EXPORT_MAX_ROWS)


def daily_counts(queryset: Any, days: int = 14, today: dt.date | None = None) -> dict[str, list[Any]]:
    """For each of the last `days` days: people under control that day, cases that started and cases
    released. One statement: 3 × `days` conditional counts over one scan of the cases, "released on day
    d" as a range of `released_at` between local midnights (not `released_at__date`, a per-row function
    call). benchmarks/bench_control.py measures it against one query per day and series."""
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    dates = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]

    def midnight(d: dt.date) -> dt.datetime:
        return dt.datetime.combine(d, dt.time(0), tzinfo=tz)

    aggregates = {}
    for i, d in enumerate(dates):
        day_after = midnight(d + dt.timedelta(days=1))
        not_released_yet = Q(released_at__isnull=True) | Q(released_at__gte=day_after)
        aggregates[f"u{i}"] = Count("pk", filter=not_released_yet & Q(start_date__lte=d, end_date__gte=d))
        aggregates[f"s{i}"] = Count("pk", filter=Q(start_date=d))
        aggregates[f"r{i}"] = Count(
            "pk",
            filter=Q(status=CaseStatus.RELEASED, released_at__gte=midnight(d), released_at__lt=day_after),
        )
    got = queryset.exclude(status=CaseStatus.CANCELLED).order_by().aggregate(**aggregates)
    return {
        "dates": [d.strftime("%m-%d") for d in dates],
        "under": [got[f"u{i}"] for i in range(days)],
        "started": [got[f"s{i}"] for i in range(days)],
        "released": [got[f"r{i}"] for i in range(days)],
    }


def supplies_xlsx(queryset: Any) -> Ledger:
    """The supply and counselling requests (no health data: volunteers export it too)."""
    columns = [
        Column(_("Requested"), 16), Column(_("Name"), 12), Column(_("Address"), 30), Column(_("Kind"), 14),
        Column(_("What is needed"), 40), Column(_("Urgent")), Column(_("Status"), 10), Column(_("Assigned to"), 14),
        Column(_("Outcome"), 30), Column(_("Delivered"), 16), Column(_("Community"), 14),
    ]  # fmt: skip

    def row(r: Any) -> list[Any]:
        return [
            r.created_at, r.case.person.name, r.case.household.address if r.case.household else "",
            str(r.get_kind_display()), r.detail, _("yes") if r.urgent else "", str(r.get_status_display()),
            str(r.assignee or ""), r.outcome, r.delivered_at, r.community.name if r.community else "",
        ]  # fmt: skip

    return write_xlsx(_("Supply requests"), columns, map(row, queryset.iterator(chunk_size=2000)))


REPORT_COLUMNS = (
    ("pending", _("Pending")),
    ("central", _("Centralised quarantine")),
    ("home", _("Home quarantine")),
    ("monitoring", _("Home health monitoring")),
    ("other", _("Other measures")),
    ("open", _("Under control")),
    ("past_end", _("Past the end date")),
    ("started", _("Started today")),
    ("released", _("Released today")),
)


def report_xlsx(rows: list[dict[str, Any]], total: dict[str, int], today: dt.date) -> bytes:
    columns = [Column(_("Community"), 16), *(Column(str(label)) for _k, label in REPORT_COLUMNS)]
    lines = [[r["community"], *(r[k] for k, _l in REPORT_COLUMNS)] for r in rows]
    lines.append([str(_("Total")), *(total[k] for k, _l in REPORT_COLUMNS)])
    return write_xlsx(f"{_('Daily report')} {today:%Y-%m-%d}", columns, lines).data


def transfers_xlsx(queryset: Any, now: dt.datetime) -> Ledger:
    """Every transfer with every timestamp (ID numbers and phones masked)."""
    from jiedao.control.actions.transfers import is_late

    columns = [
        Column(_("No."), 8), Column(_("Name"), 12), Column(_("Document number"), 22, text=True),
        Column(_("Phone"), 14, text=True), Column(_("Pick-up address"), 30), Column(_("Community"), 14),
        Column(_("Grid"), 14), Column(_("Quarantine site"), 20), Column(_("Escort team"), 20),
        Column(_("Vehicle"), 12, text=True), Column(_("Status"), 14), Column(_("Late")),
        Column(_("Planned pick-up"), 17), Column(_("Picked up at"), 17), Column(_("Handed over at"), 17),
        Column(_("Received by"), 12), Column(_("Confirmed at"), 17), Column(_("Cancelled at"), 17),
        Column(_("Note"), 30),
    ]  # fmt: skip

    def row(t: Any) -> list[Any]:
        p = t.case.person
        return [
            t.pk, p.name, p.id_masked, p.phone_masked, t.case.household.address if t.case.household else "",
            t.community.name if t.community else "", t.grid.name if t.grid else "", t.site.name, t.team,
            t.vehicle, str(t.get_status_display()), _("yes") if is_late(t, now) else "", t.pickup_at,
            t.picked_up_at, t.handed_over_at, t.received_by, t.confirmed_at, t.cancelled_at, t.note,
        ]  # fmt: skip

    rows = map(row, queryset.iterator(chunk_size=2000))
    return write_xlsx(_("Transfers"), columns, rows, max_rows=EXPORT_MAX_ROWS)
