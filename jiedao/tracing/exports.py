"""The Excel ledger of a trace run's contacts (masked; the document number never leaves unmasked)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from jiedao.core.ledger import Column, Ledger, write_xlsx
from jiedao.tracing.choices import Relation
from jiedao.tracing.models import TraceRun


def contacts_xlsx(run: TraceRun, queryset: Any) -> Ledger:
    columns = [
        Column(_("Kind of contact"), 14),
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
        from jiedao.places.models import VenueCheckin

        for chunk in _pages(queryset):
            # visitors known from a venue check-in: their name and masked document, one query a page
            missing = [c.contact_key for c in chunk if c.person_id is None]
            visitors = {
                v.person_key: v
                for v in VenueCheckin.objects.filter(person_key__in=missing).only("person_key", "name", "id_masked")
            } if missing else {}  # fmt: skip
            for c in chunk:
                v = visitors.get(c.contact_key)
                yield _row(c, v)

    def _row(c: Any, v: Any) -> list[Any]:
        return [
            str(labels.get(c.relation, c.relation)),
            c.person.name if c.person else (v.name if v else ""),
            c.person.id_masked if c.person else (v.id_masked if v else ""),
            c.place.name if c.place else "",
            c.place_key,
            c.overlap_start,
            c.overlap_end,
            c.minutes,
            c.source,
            c.via_person.name if c.via_person else c.via_key,
            "" if c.person else c.contact_key,  # in full: the city platform matches its own keys
        ]

    return write_xlsx(_("Trace run #%(n)s") % {"n": run.pk}, columns, rows())


def _pages(queryset: Any, size: int = 2000) -> Any:
    page: list[Any] = []
    for c in queryset.iterator(chunk_size=size):
        page.append(c)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page
