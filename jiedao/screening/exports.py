"""Excel ledgers of screening: the key-person ledger and a list's results (the feedback sent back up
the chain). Only masked numbers are written; a row number ties each result to the issuer's own list."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core.ledger import Column, Ledger, write_xlsx
from jiedao.protocols.registry import all_protocols
from jiedao.screening.choices import KeyPersonStatus, MatchMethod
from jiedao.screening.models import KeyPerson, PushedList
from jiedao.screening.queries import result_entries

EXPORT_MAX_ROWS = 200_000


def category_label(protocol_key: str, key: str) -> str:
    if not key:
        return ""
    protocol = all_protocols().get(protocol_key)
    cat = protocol.categories.get(key) if protocol else None
    return cat.label if cat else key


def key_person_xlsx(queryset: Any) -> Ledger:
    columns = [
        Column(_("Name"), 12), Column(_("Document number"), 22, text=True), Column(_("Phone"), 14, text=True),
        Column(_("Category"), 18), Column(_("Status"), 16), Column(_("Verify by"), 17), Column(_("Overdue")),
        Column(_("Community"), 14), Column(_("Grid"), 14), Column(_("Pushed address"), 30),
        Column(_("Classified as"), 18), Column(_("Measure starts")), Column(_("Measure ends")),
        Column(_("Attempts")), Column(_("Verified"), 17),
    ]  # fmt: skip
    now = timezone.now()

    def row(kp: KeyPerson) -> list[Any]:
        return [
            kp.person.name, kp.person.id_masked, kp.person.phone_masked,
            category_label(kp.protocol_key, kp.category), str(kp.get_status_display()), kp.due_at,
            _("yes") if kp.is_open and kp.due_at < now else "",
            kp.community.name if kp.community else _("Dispatch queue"), kp.grid.name if kp.grid else "",
            kp.address_text, category_label(kp.protocol_key, kp.classified_category),
            kp.measure_start, kp.measure_end, kp.attempts, kp.verified_at,
        ]  # fmt: skip

    rows = map(row, queryset.select_related("person", "community", "grid").iterator(chunk_size=2000))
    return write_xlsx(_("Key persons"), columns, rows, max_rows=EXPORT_MAX_ROWS)


def list_results_xlsx(plist: PushedList) -> Ledger:
    columns = [
        Column(_("Row")), Column(_("Name"), 12), Column(_("Document number"), 22, text=True),
        Column(_("Phone"), 14, text=True), Column(_("Category"), 18), Column(_("Match"), 16),
        Column(_("Community"), 14), Column(_("Grid"), 14), Column(_("Status"), 16), Column(_("Verified"), 17),
        Column(_("Outcome"), 16), Column(_("Where"), 20), Column(_("Classified as"), 18),
        Column(_("Measure starts")), Column(_("Measure ends")), Column(_("Handed back"), 30),
    ]  # fmt: skip
    entries = result_entries(plist)

    def row(e: Any) -> list[Any]:
        kp = e.key_person
        last = next(iter(kp.verifications.all()), None)
        backs = "；".join(f"{b.community.name}: {b.reason}" for b in kp.handbacks.all())
        return [
            e.row, e.name, e.id_masked, e.phone_masked, category_label(plist.protocol_key, e.category),
            str(MatchMethod(e.match).label), kp.community.name if kp.community else _("Dispatch queue"),
            kp.grid.name if kp.grid else "", str(KeyPersonStatus(kp.status).label), kp.verified_at,
            str(last.get_outcome_display()) if last else "", last.where if last else "",
            category_label(kp.protocol_key, kp.classified_category), kp.measure_start, kp.measure_end, backs,
        ]  # fmt: skip

    rows = map(row, entries.iterator(chunk_size=2000))
    return write_xlsx(_("Results"), columns, rows, max_rows=EXPORT_MAX_ROWS)
