"""Masked Excel ledgers of the households and persons lists (XlsxWriter, streamed row by row). Only the
masked columns are written (the list querysets do not even load the encrypted ones)."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _

EXPORT_MAX_ROWS = 200_000


def _workbook() -> tuple[Any, Any, io.BytesIO]:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": True})
    return book, book.add_format({"bold": True, "bg_color": "#E8EEF7"}), out


def _finish(book: Any, out: io.BytesIO) -> bytes:
    book.close()
    return out.getvalue()


def households_xlsx(queryset: Any) -> tuple[bytes, int]:
    book, bold, out = _workbook()
    sheet = book.add_worksheet(_("Households"))
    headers = [
        _("File number"), _("Address"), _("Compound"), _("Community"), _("Grid"), _("Head of household"),
        _("Head's ID number"), _("Head's phone"), _("Members"), _("With care needs"), _("Status"),
    ]  # fmt: skip
    sheet.write_row(0, 0, headers, bold)
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 36)
    sheet.set_column(2, 7, 16)
    sheet.freeze_panes(1, 0)
    n = 0
    for hh in queryset[:EXPORT_MAX_ROWS].iterator(chunk_size=2000):
        n += 1
        head = hh.head
        sheet.write_row(
            n,
            0,
            [
                hh.file_no, hh.address, hh.flat.compound.name if hh.flat_id else "",
                hh.community.name if hh.community_id else "", hh.grid.name if hh.grid_id else "",
                head.name if head else "", head.id_masked if head else "", head.phone_masked if head else "",
                getattr(hh, "member_count", 0), getattr(hh, "care_count", 0), str(hh.get_status_display()),
            ],
        )  # fmt: skip
    return _finish(book, out), n


def persons_xlsx(queryset: Any) -> tuple[bytes, int]:
    book, bold, out = _workbook()
    sheet = book.add_worksheet(_("Persons"))
    headers = [
        _("Name"), _("Document type"), _("Document number"), _("Sex"), _("Birth date"), _("Age"),
        _("Phone"), _("Community"), _("Grid"), _("Address"), _("Care tags"),
    ]  # fmt: skip
    sheet.write_row(0, 0, headers, bold)
    sheet.set_column(0, 0, 12)
    sheet.set_column(2, 2, 22)
    sheet.set_column(9, 9, 36)
    sheet.freeze_panes(1, 0)
    n = 0
    for p in queryset[:EXPORT_MAX_ROWS].iterator(chunk_size=2000):
        n += 1
        homes = getattr(p, "current_residencies", [])
        sheet.write_row(
            n,
            0,
            [
                p.name, str(p.get_id_type_display()), p.id_masked, str(p.get_sex_display()),
                p.birth_date.isoformat() if p.birth_date else "", p.age if p.age is not None else "",
                p.phone_masked, p.community.name if p.community_id else "", p.grid.name if p.grid_id else "",
                homes[0].household.address if homes else "",
                "、".join(str(t.get_kind_display()) for t in p.care_tags.all()),
            ],
        )  # fmt: skip
    return _finish(book, out), n
