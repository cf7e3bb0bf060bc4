"""Excel ledgers of places (XlsxWriter): the filtered list as the office keeps it, phones masked."""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter
from django.utils.translation import gettext as _

from jiedao.places.choices import PlaceKind

# A ledger bigger than this is a sign the filter was forgotten; the sheet says where it stopped.
MAX_EXPORT_ROWS = 100_000


def places_workbook(places: Any) -> tuple[bytes, int]:
    """Write `places` (a queryset with community and grid joined) to an xlsx; return bytes and row count."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet(_("Places"))
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    text = book.add_format({"num_format": "@"})  # codes stay text: Excel must not turn them into numbers
    columns = [
        (_("Venue code"), 14), (_("Place name"), 30), (_("Kind"), 14), (_("Community"), 14), (_("Grid"), 14),
        (_("Address"), 36), (_("Contact"), 12), (_("Contact phone"), 16),
        (_("Unified social credit code"), 22), (_("Active"), 8),
    ]  # fmt: skip
    for col, (title, width) in enumerate(columns):
        sheet.write(0, col, title, head)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    labels = dict(PlaceKind.choices)
    yes, no = _("Yes"), _("No")
    rows = 0
    for place in places.iterator(chunk_size=2000) if hasattr(places, "iterator") else places:
        if rows >= MAX_EXPORT_ROWS:
            sheet.write(rows + 1, 0, _("Stopped after %(n)d rows: narrow the filter.") % {"n": rows})
            break
        r = rows + 1
        sheet.write_string(r, 0, place.venue_code, text)
        sheet.write_string(r, 1, place.name)
        sheet.write_string(r, 2, str(labels.get(place.kind, place.kind)))
        sheet.write_string(r, 3, place.community.name)
        sheet.write_string(r, 4, place.grid.name if place.grid_id else "")
        sheet.write_string(r, 5, place.address)
        sheet.write_string(r, 6, place.contact_name)
        sheet.write_string(r, 7, place.contact_phone_masked, text)
        sheet.write_string(r, 8, place.credit_code, text)
        sheet.write_string(r, 9, yes if place.active else no)
        rows += 1
    sheet.autofilter(0, 0, max(rows, 1), len(columns) - 1)
    book.close()
    return buf.getvalue(), rows
