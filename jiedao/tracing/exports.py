"""The Excel ledger of a trace run's contacts (masked; the document number never leaves unmasked)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from jiedao.core.ledger import Column, Ledger, write_xlsx
from jiedao.tracing.choices import Relation
from jiedao.tracing.models import TraceRun


def contacts_xlsx(run: TraceRun, queryset: Any) -> Ledger:
    columns = [
        Column(_("Relation"), 14),
        Column(_("Name"), 12),
        Column(_("Document number"), 22, text=True),
        Column(_("Place"), 24),
        Column(_("Place key"), 16, text=True),
        Column(_("Together from"), 17),
        Column(_("Together until"), 17),
        Column(_("Minutes"), 9),
        Column(_("Source"), 12),
        Column(_("Through"), 12),
        Column(_("Contact key"), 20, text=True),
    ]
    labels = dict(Relation.choices)

    def rows() -> Any:
        for c in queryset.iterator(chunk_size=2000):
            yield [
                str(labels.get(c.relation, c.relation)),
                c.person.name if c.person else "",
                c.person.id_masked if c.person else "",
                c.place.name if c.place else "",
                c.place_key,
                c.overlap_start,
                c.overlap_end,
                c.minutes,
                c.source,
                c.via_person.name if c.via_person else c.via_key[:12],
                c.contact_key[:12],
            ]

    return write_xlsx(_("Trace run #%(n)s") % {"n": run.pk}, columns, rows())
