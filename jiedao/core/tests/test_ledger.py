"""The one Excel writer: headers, text cells that Excel must not reinterpret, the row cap, and a download
whose Chinese file name survives the trip."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from urllib.parse import unquote

import openpyxl
from django.utils import timezone

from jiedao.core.ledger import XLSX, Column, content_disposition, stamped, write_xlsx, xlsx_response

LONG_ID = "510116199001011234"  # 18 digits: as a number Excel would show 5.10116E+17


def _open(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_header_row_is_bold_frozen_and_filtered() -> None:
    columns = [Column("姓名", 12), Column("身份证号", text=True), Column("Age")]
    ledger = write_xlsx("居民", columns, [["张三", LONG_ID, 34], ["李四", None, None]])
    sheet = _open(ledger.data)
    assert sheet.title == "居民"
    assert [c.value for c in sheet[1]] == ["姓名", "身份证号", "Age"]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C3"
    assert 12 <= sheet.column_dimensions["A"].width < 13  # XlsxWriter adds the cell padding
    # an unset width fits the header: four CJK characters need more room than three Latin letters
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["C"].width
    assert ledger.rows == 2
    assert [c.value for c in sheet[3]] == ["李四", None, None]


def test_a_long_id_stays_text_and_a_formula_stays_a_string() -> None:
    rows = [[LONG_ID, "=1+1", 7, 2.5]]
    columns = [Column("ID", text=True), Column("Name"), Column("N"), Column("X")]
    sheet = _open(write_xlsx("t", columns, rows).data)
    cell = sheet["A2"]
    assert cell.value == LONG_ID and cell.data_type == "s" and cell.number_format == "@"
    assert sheet["B2"].value == "=1+1" and sheet["B2"].data_type == "s"  # never evaluated
    assert sheet["C2"].value == 7 and sheet["C2"].data_type == "n"
    assert sheet["D2"].value == 2.5


def test_dates_and_aware_times_are_written_as_local_dates() -> None:
    when = dt.datetime(2025, 3, 1, 1, 30, tzinfo=dt.UTC)
    sheet = _open(write_xlsx("t", [Column("At"), Column("On")], [[when, dt.date(2025, 3, 2)]]).data)
    assert sheet["A2"].value == timezone.localtime(when).replace(tzinfo=None)
    assert sheet["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["B2"].value == dt.datetime(2025, 3, 2)


def test_the_row_cap_stops_with_a_note() -> None:
    consumed = []

    def rows() -> Any:
        for i in range(10):
            consumed.append(i)
            yield [f"row {i}"]

    ledger = write_xlsx("t", [Column("A")], rows(), max_rows=3)
    values = [r[0] for r in _open(ledger.data).iter_rows(values_only=True)]
    assert ledger.rows == 3
    assert values[1:4] == ["row 0", "row 1", "row 2"]
    assert len(values) == 5 and "3" in values[4]  # the note says where it stopped
    assert len(consumed) == 4  # the rest of the query is never read


def test_download_keeps_a_chinese_file_name() -> None:
    name = "居民台账-20250301.xlsx"
    response = xlsx_response(name, b"data")
    header = response["Content-Disposition"]
    assert header.startswith("attachment; ")
    assert 'filename="20250301.xlsx"' in header  # an ASCII fallback for old clients
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii() and unquote(encoded) == name
    assert response["Content-Type"] == XLSX
    assert response["Cache-Control"] == "no-store"
    assert response.content == b"data"


def test_ascii_names_and_names_with_nothing_ascii() -> None:
    assert (
        content_disposition("places.xlsx")
        == "attachment; filename=\"places.xlsx\"; filename*=UTF-8''places.xlsx"
    )
    assert 'filename="download.xlsx"' in content_disposition("居民.xlsx")
    assert 'filename="a b.xlsx"' in content_disposition('a"\\ b.xlsx')  # quotes cannot break the header
    assert stamped("places").startswith("places-") and stamped("places").endswith(".xlsx")
