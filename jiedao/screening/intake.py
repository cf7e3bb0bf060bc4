"""Checking pushed entries, from a spreadsheet row or an API body, before anything is written.

Every problem is a message naming the row and the column. A list is checked as a stream: rows are read
one at a time and handed on in chunks (see `matching.write_chunk`), so a long list never sits in memory
as Python objects; what is written is rolled back if any row turns out bad."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core.errors import InvalidInput
from jiedao.core.identity import normalize_mobile
from jiedao.core.sheets import RowError, cell_text, id_cell_text
from jiedao.protocols.schema import Protocol
from jiedao.registry.choices import IdType
from jiedao.registry.identity import id_lookup_key, normalize_document, phone_lookup_key
from jiedao.registry.import_columns import ID_TYPE_WORDS

MAX_ERRORS = 1000  # listed; the total is always counted


@dataclass
class EntryIn:
    """One checked entry, normalised, ready to match."""

    row: int
    name: str
    id_type: str
    id_number: str
    id_index: str
    phone: str
    phone_index: str
    origin: str
    arrived_at: dt.datetime | None
    exposed_at: dt.datetime | None
    address: str
    category: str
    note: str
    client_key: str = ""
    content_hash: str = ""


@dataclass
class Report:
    """What checking (and, unless a dry run, writing) a list found."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    file_errors: list[str] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.error_count

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, column, message))

    def messages(self) -> list[str]:
        return [*self.file_errors, *(str(e) for e in self.errors)]


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%Y.%m.%d", "%Y%m%d",
)  # fmt: skip
_CN_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*(\d{1,2})[:：时](\d{1,2})?分?)?$")


def _with_offset(text: str) -> dt.datetime | None:
    if "T" not in text and "+" not in text[10:] and not text.endswith("Z"):
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def parse_when(value: Any) -> dt.datetime | None:
    """A date or date-and-time cell as an aware datetime (local zone); None when empty. Raises
    InvalidInput for text that is not a date."""
    if value is None or value == "":
        return None
    when: dt.datetime | None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime.combine(value, dt.time())
    else:
        text = cell_text(value) if isinstance(value, int | float) else str(value).strip()
        if not text:
            return None
        m = _CN_DATE.match(text)
        when = None
        offset = _with_offset(text)
        if offset is not None:
            return offset  # an ISO time that says its zone means that instant, not local time
        if m:
            y, mo, d, h, mi = m.groups()
            try:
                when = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0))
            except ValueError:
                when = None
        else:
            for fmt in _DATE_FORMATS:
                try:
                    when = dt.datetime.strptime(text.replace("T", " ")[:19], fmt)
                    break
                except ValueError:
                    continue
        if when is None:
            raise InvalidInput(
                _("“%(value)s” is not a date: write it as 2022-05-30 or 2022-05-30 14:00.")
                % {"value": text[:40]}
            )
    assert when is not None
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if not dt.datetime(2019, 1, 1, tzinfo=dt.UTC) <= when <= timezone.now() + dt.timedelta(days=1):
        raise InvalidInput(_("%(date)s is not a plausible date here.") % {"date": when.date().isoformat()})
    return when


def content_hash(values: Mapping[str, Any]) -> str:
    payload = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class EntryChecker:
    """Checks entries one by one against a protocol and each other: the same person twice in one list,
    or one document number under two names, is an error on the later row."""

    def __init__(self, protocol: Protocol, default_category: str, report: Report) -> None:
        self.protocol = protocol
        self.default_category = default_category
        self.report = report
        self.seen_docs: dict[str, tuple[int, str]] = {}  # id_index → (row, name)
        self.seen_phones: dict[str, tuple[int, str, bool]] = {}  # phone_index → (row, name, has a document)

    def category_of(self, raw: str) -> str | None:
        cat = self.protocol.category_for_name(raw)
        return cat.key if cat is not None else None

    def known_categories(self) -> str:
        return "、".join(c.label_zh for c in self.protocol.categories.values())

    def check(
        self, row: int, get: Callable[[str], Any], header: Callable[[str], str], *, client_key: str = ""
    ) -> EntryIn | None:
        """`get(key)` gives the raw value of a field, `header(key)` the column name for messages."""
        report = self.report
        report.rows += 1
        before = report.error_count

        def err(key: str, message: str) -> None:
            report.add_error(row, header(key), message)

        name = cell_text(get("name"))
        if not name:
            err("name", _("The name is empty."))
        elif len(name) > 100:
            err("name", _("The name is too long (at most 100 characters)."))

        id_type: str = IdType.RESIDENT_ID
        raw_type = cell_text(get("id_type")).lower()
        if raw_type:
            id_type = ID_TYPE_WORDS.get(raw_type, "") or (raw_type if raw_type in IdType.values else "")
            if not id_type or id_type == IdType.NONE:
                err(
                    "id_type",
                    _(
                        "Unknown document type “%(value)s” (accepted: resident id, passport, hk_macao, taiwan, "
                        "foreign_pr, other)."
                    )
                    % {"value": raw_type},
                )
                id_type = IdType.OTHER
        id_number = id_index = ""
        raw_id = get("id_number")
        raw_text = id_cell_text(raw_id) if id_type == IdType.RESIDENT_ID else cell_text(raw_id)
        if raw_text:
            try:
                id_number = normalize_document(id_type, raw_text)
                id_index = id_lookup_key(id_type, id_number)
            except InvalidInput as exc:
                err("id_number", exc.message)
        phone = phone_index = ""
        raw_phone = cell_text(get("phone"))
        if raw_phone:
            try:
                phone = normalize_mobile(raw_phone)
                phone_index = phone_lookup_key(phone)
            except InvalidInput as exc:
                err("phone", exc.message)
        if not raw_text and not raw_phone:
            err("id_number", _("Neither a document number nor a phone: there is no way to find this person."))

        raw_cat = cell_text(get("category"))
        category = self.category_of(raw_cat) if raw_cat else (self.default_category or None)
        if category is None:
            if raw_cat:
                msg = _("Unknown category “%(value)s” (the protocol knows: %(known)s).")
            else:
                msg = _("No category: fill the column or choose a default category for the list (%(known)s).")
            err("category", msg % {"value": raw_cat[:40], "known": self.known_categories()})
            category = ""

        when: dict[str, dt.datetime | None] = {}
        for key in ("arrived_at", "exposed_at"):
            try:
                when[key] = parse_when(get(key))
            except InvalidInput as exc:
                err(key, exc.message)
                when[key] = None
        texts = {}
        for key, limit in (("origin", 100), ("address", 200), ("note", 500)):
            value = cell_text(get(key))
            if len(value) > limit:
                err(key, _("Longer than %(n)s characters.") % {"n": limit})
            texts[key] = value[:limit]

        if id_index:
            first = self.seen_docs.get(id_index)
            if first is not None:
                if first[1] != name:
                    err(
                        "id_number",
                        _("Row %(row)s gives this document number to %(other)s: one number, two names.")
                        % {"row": first[0], "other": first[1]},
                    )
                else:
                    err("id_number", _("Duplicates row %(row)s (the same person).") % {"row": first[0]})
            else:
                self.seen_docs[id_index] = (row, name)
        if phone_index:
            # The same name and phone, once with a document and once without, is one person too: two
            # documents under one name and phone are two people (twins on a parent's phone).
            same_phone = self.seen_phones.get(phone_index)
            if same_phone is not None and same_phone[1] == name and not (id_index and same_phone[2]):
                err("phone", _("Duplicates row %(row)s (the same name and phone).") % {"row": same_phone[0]})
            elif same_phone is None:
                self.seen_phones[phone_index] = (row, name, bool(id_index))

        if report.error_count > before:
            return None
        entry = EntryIn(
            row=row, name=name, id_type=id_type if id_number else IdType.NONE, id_number=id_number,
            id_index=id_index, phone=phone, phone_index=phone_index, origin=texts["origin"],
            arrived_at=when["arrived_at"], exposed_at=when["exposed_at"], address=texts["address"],
            category=category, note=texts["note"], client_key=client_key,
        )  # fmt: skip
        entry.content_hash = content_hash(
            {
                k: v
                for k, v in vars(entry).items()
                if k not in ("row", "client_key", "content_hash", "id_index", "phone_index")
            }
        )
        return entry
