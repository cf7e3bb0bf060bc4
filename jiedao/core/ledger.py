"""Excel ledgers (XlsxWriter): one writer for every list export and template. Apps decide the columns
and what goes in each row (masked already); this module only writes the sheet and the download."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote

import xlsxwriter
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A ledger bigger than this is a sign the filter was forgotten; the sheet says where it stopped.
MAX_ROWS = 100_000


@dataclass(frozen=True)
class Column:
    """One column: its header, width in characters (None: fit the header) and whether it holds an
    ID-like code that must stay text (Excel would turn 510116199001011234 into 5.10116E+17)."""

    title: str
    width: float | None = None
    text: bool = False


class Ledger(NamedTuple):
    data: bytes
    rows: int  # data rows written (for the export's audit entry)


def _fit(title: str) -> float:
    # CJK characters take two columns; a little padding for the autofilter button.
    wide = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(title))
    return max(8, wide + 4)


def write_xlsx(
    title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, max_rows: int = MAX_ROWS
) -> Ledger:
    """Write one sheet: a bold, frozen header row with a filter, then `rows` (stopping, with a note, after
    `max_rows`). Strings are always written as text, so a cell starting with "=" is never a formula;
    numbers as numbers, dates and times (shown in local time) as dates."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet(title[:31])  # Excel's limit on sheet names
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, column in enumerate(columns):
        # The column format also covers cells typed in later (an import template is filled by hand).
        width = column.width if column.width is not None else _fit(column.title)
        sheet.set_column(col, col, width, text if column.text else None)
        sheet.write_string(0, col, str(column.title), head)
    sheet.freeze_panes(1, 0)
    n = 0
    for values in rows:
        if n >= max_rows:
            sheet.write_string(n + 1, 0, _("Stopped after %(n)d rows: narrow the filter.") % {"n": n})
            break
        n += 1
        for col, value in enumerate(values):
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                sheet.write_boolean(n, col, value)
            elif isinstance(value, (int, float)):
                sheet.write_number(n, col, value)
            elif isinstance(value, dt.datetime):
                local = timezone.localtime(value) if timezone.is_aware(value) else value
                sheet.write_datetime(n, col, local.replace(tzinfo=None), when)
            elif isinstance(value, dt.date):
                sheet.write_datetime(n, col, value, day)
            else:
                sheet.write_string(n, col, str(value), text if columns[col].text else None)
    sheet.autofilter(0, 0, max(n, 1), len(columns) - 1)
    book.close()
    return Ledger(buf.getvalue(), n)


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the real one per RFC 5987/6266, so 居民.xlsx arrives
    as 居民.xlsx in browsers and as a readable ASCII name in clients that only know `filename=`."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    plain = "".join(ch for ch in stem if ch.isascii() and ch.isprintable() and ch not in '"\\')
    fallback = (plain.strip(" -_") or "download") + (f".{ext}" if dot else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def xlsx_response(filename: str, data: bytes) -> HttpResponse:
    """The workbook as a download. Never cached: a ledger holds personal data, even masked."""
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "no-store"
    return response


def stamped(stem: str) -> str:
    """A download name that says when it was taken: `places-20250101-0930.xlsx`."""
    return f"{stem}-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
