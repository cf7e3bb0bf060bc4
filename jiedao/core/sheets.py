"""Reading spreadsheets people upload (xlsx/xls via python-calamine, CSV in UTF-8 or GBK) and finding
which column holds which field from the header row. Shared by every importer (the register's households,
screening's pushed lists, ...); each importer declares its own columns."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import difflib
import hashlib
import io
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core.crypto import decrypt, encrypt
from jiedao.core.errors import InvalidInput, JiedaoError, NotFound, TooLarge

SPREADSHEET_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".csv")
NOT_A_SPREADSHEET = gettext_lazy("“%(name)s” is not a spreadsheet: upload an .xlsx, .xls or .csv file.")


def human_size(n: int) -> str:
    if n >= 1048576:
        return f"{n / 1048576:.1f} MB"
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} B"


def check_size(size: int) -> None:
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise TooLarge(
            _("The file is %(size)s, over the %(limit)s limit: split it and import the parts one by one.")
            % {"size": human_size(size), "limit": human_size(limit)},
            field="file",
        )


def iter_table(filename: str, data: bytes) -> Iterator[list[Any]]:
    """The rows of the first sheet (or the CSV), one at a time, so that a long list is never held as
    Python objects all at once. Raises TooLarge, or InvalidInput for anything that is not a readable
    spreadsheet (before the first row is yielded)."""
    check_size(len(data))
    name = Path(filename).name or "upload"
    ext = Path(name).suffix.lower()
    bad = InvalidInput(str(NOT_A_SPREADSHEET) % {"name": name}, field="file")
    if not data:
        raise InvalidInput(_("The file “%(name)s” is empty.") % {"name": name}, field="file")
    is_zip = data[:4] == b"PK\x03\x04"
    is_ole = data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    if ext in (".xlsx", ".xlsm", ".xls") or is_zip or is_ole:
        if not (is_zip or is_ole):
            raise bad
        return _iter_workbook(name, data, bad)
    if ext not in ("", ".csv", ".txt"):
        raise bad
    return _iter_csv(name, data, bad)


def read_table(filename: str, data: bytes) -> list[list[Any]]:
    """The whole first sheet (or the CSV) as rows of cells."""
    return list(iter_table(filename, data))


def _damaged(name: str) -> InvalidInput:
    return InvalidInput(
        _("Cannot read “%(name)s”: the file is damaged or is not an Excel workbook.") % {"name": name},
        field="file",
    )


def _iter_workbook(name: str, data: bytes, bad: InvalidInput) -> Iterator[list[Any]]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not book.sheet_names:
            raise bad
        rows = book.get_sheet_by_index(0).iter_rows()
    except JiedaoError:
        raise
    except Exception:  # calamine raises its own error types for every kind of damage
        raise _damaged(name)

    def gen() -> Iterator[list[Any]]:
        try:
            for row in rows:
                yield list(row)
        except Exception:
            raise _damaged(name)

    return gen()


def _iter_csv(name: str, data: bytes, bad: InvalidInput) -> Iterator[list[Any]]:
    if b"\x00" in data[:4096]:
        raise bad
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput(
            _("Cannot tell the text encoding of “%(name)s”: save it as a UTF-8 or GBK CSV.") % {"name": name},
            field="file",
        )
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    reader = csv.reader(io.StringIO(text), dialect)

    def gen() -> Iterator[list[Any]]:
        try:
            for row in reader:
                yield list(row)
        except csv.Error as exc:
            raise InvalidInput(
                _("“%(name)s” is not valid CSV: %(error)s") % {"name": name, "error": exc}, field="file"
            )

    return gen()


# ---- cells --------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def id_cell_text(value: Any) -> str:
    """An ID cell as text. A number means Excel converted it: show it the way Excel does, so the
    identity check gives its specific 'mangled by Excel' message."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if abs(value) >= 1e11:
            mantissa, exp = f"{float(value):.5E}".split("E")
            return f"{mantissa.rstrip('0').rstrip('.')}E+{int(exp)}"
        return f"{int(value)}.0"
    return cell_text(value)


def is_blank(row: Sequence[Any]) -> bool:
    return not any(cell_text(c) for c in row)


@dataclass
class RowError:
    """One problem in an uploaded sheet: the row as the spreadsheet numbers it, and the column's header."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("Row %(row)s, %(column)s: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


# ---- header row ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the name used in messages when the file has no such column
    aliases: tuple[str, ...]
    required: bool = False


def norm_header(text: object) -> str:
    t = ("" if text is None else str(text)).strip().lower()
    t = re.sub(r"[（(][^）)]*[）)]", "", t)  # "身份证号（必填）" → "身份证号"
    t = re.sub(r"[\s*＊:：_\-]", "", t)
    return t


@dataclass
class Mapping:
    """Which spreadsheet column holds which field, found in the header row."""

    header_row: int = 0  # 1-based, as the spreadsheet shows it
    columns: dict[str, tuple[int, str]] = field(default_factory=dict)  # key → (index, header as written)
    ignored: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # key → label, for columns the file lacks

    def header(self, key: str) -> str:
        return self.columns[key][1] if key in self.columns else self.labels.get(key, key)

    def cell(self, row: Sequence[Any], key: str) -> Any:
        if key not in self.columns:
            return None
        idx = self.columns[key][0]
        return row[idx] if idx < len(row) else None


class ColumnSet:
    """The columns one importer knows, with the headers people give them, and the mapping of a header
    row with a message for every missing or misspelt column."""

    def __init__(self, columns: Sequence[Column], ignored: Sequence[str] = (), *, no_header: Any) -> None:
        self.columns = tuple(columns)
        self.by_key = {c.key: c for c in self.columns}
        self.aliases = {norm_header(a): c.key for c in self.columns for a in (c.label, *c.aliases)}
        self.ignored = {norm_header(h) for h in ignored}
        self.no_header = no_header  # the message when no header row is found, naming typical headers

    def find_header(self, rows: Sequence[Sequence[Any]]) -> int | None:
        """Index of the first of the top ten rows naming at least two known columns."""
        for i, row in enumerate(rows[:10]):
            if sum(1 for cell in row if norm_header(cell) in self.aliases) >= 2:
                return i
        return None

    def map(self, rows: Sequence[Sequence[Any]]) -> Mapping:
        mapping = Mapping(labels={c.key: c.label for c in self.columns})
        header_idx = self.find_header(rows)
        if header_idx is None:
            mapping.errors.append(str(self.no_header))
            return mapping
        mapping.header_row = header_idx + 1
        suggested: set[str] = set()
        known = list(self.aliases)
        for idx, cell in enumerate(rows[header_idx]):
            written = ("" if cell is None else str(cell)).strip()
            norm = norm_header(written)
            if not norm:
                continue
            key = self.aliases.get(norm)
            if key is None:
                if norm in self.ignored:
                    mapping.ignored.append(written)
                    continue
                close = difflib.get_close_matches(norm, known, n=1, cutoff=0.6)
                if close and self.aliases[close[0]] not in mapping.columns:
                    target = self.by_key[self.aliases[close[0]]]
                    best = next(a for a in (target.label, *target.aliases) if norm_header(a) == close[0])
                    mapping.errors.append(
                        _("Unrecognised column “%(written)s”: did you mean “%(best)s”? Correct the header.")
                        % {"written": written, "best": best}
                    )
                    suggested.add(target.key)
                else:
                    mapping.ignored.append(written)
                continue
            if key in mapping.columns:
                mapping.errors.append(
                    _(
                        "The columns “%(first)s” and “%(second)s” both hold %(label)s (%(key)s): keep only one."
                    )
                    % {
                        "first": mapping.columns[key][1],
                        "second": written,
                        "label": self.by_key[key].label,
                        "key": key,
                    }
                )
                continue
            mapping.columns[key] = (idx, written)
        for col in self.columns:
            if col.required and col.key not in mapping.columns and col.key not in suggested:
                names = "、".join((col.label, *[a for a in col.aliases if not a.isascii()][1:4]))
                mapping.errors.append(
                    _("The required column “%(label)s” (%(key)s) is missing (headers that work: %(names)s).")
                    % {"label": col.label, "key": col.key, "names": names}
                )
        return mapping


def mapped_rows(
    filename: str, data: bytes, columns: ColumnSet, *, max_rows: int, check: Any = None
) -> list[dict[str, Any]]:
    """A small file's rows as {row, <column key>: cell, ...} (blank rows skipped), or InvalidInput on
    the `file` field naming what is wrong: size, format, header (and `check(mapping)`'s own errors),
    no rows, too many rows."""
    check_size(len(data))
    table = read_table(filename, data)
    mapping = columns.map(table)
    if not mapping.errors and check is not None:
        check(mapping)
    if mapping.errors:
        raise InvalidInput(" ".join(mapping.errors), field="file")
    out = []
    for n, row in enumerate(table[mapping.header_row :], start=mapping.header_row + 1):
        if is_blank(row):
            continue
        out.append({"row": n, **{c.key: mapping.cell(row, c.key) for c in columns.columns}})
    if not out:
        raise InvalidInput(_("The file has a header but no rows."), field="file")
    if len(out) > max_rows:
        raise InvalidInput(_("At most %(n)s rows per file: split it.") % {"n": max_rows}, field="file")
    return out


# ---- uploads kept between preview, dry run and commit -------------------------------------------


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _upload_path(sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise NotFound(_("Not found."))
    return Path(settings.VAR_DIR) / "imports" / f"{sha256}.enc"


def keep_upload(data: bytes) -> str:
    """Store an uploaded file encrypted (it holds ID numbers) under VAR_DIR/imports/; returns its digest."""
    digest = sha256_of(data)
    path = _upload_path(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Write beside it and rename, so a concurrent reader never sees half a file.
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(encrypt(base64.b64encode(data).decode("ascii")), encoding="ascii")
        os.replace(tmp, path)
    return digest


def load_upload(sha256: str) -> bytes:
    path = _upload_path(sha256)
    if not path.exists():
        raise InvalidInput(_("The uploaded file is no longer on the server: upload it again."), field="file")
    return base64.b64decode(decrypt(path.read_text(encoding="ascii")))


def forget_upload(sha256: str) -> None:
    _upload_path(sha256).unlink(missing_ok=True)
