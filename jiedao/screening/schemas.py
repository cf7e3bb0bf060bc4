"""The screening API's input and output shapes, and the translation of rows into them. Numbers are
masked; the checks on an entry's content are the intake's (so a file and an API batch refuse the same
things with the same messages)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.utils import timezone
from ninja import Schema
from pydantic import AfterValidator, Field

from jiedao.screening.actions import MAX_API_ENTRIES
from jiedao.screening.exports import category_label
from jiedao.screening.models import KeyPerson, PushedEntry, PushedList

MAX_PER_PAGE = 100
MAX_ID = 2**63 - 1  # ids beyond a 64-bit integer cannot exist, and SQLite refuses to compare with them


def _storable(value: str) -> str:
    """Text a database can keep: PostgreSQL refuses NUL, and lone surrogates cannot be encoded."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _plausible(value: dt.datetime | None) -> dt.datetime | None:
    """No list was pushed before 2019 (the intake's own bound for dates), and far-off years overflow when
    moved between time zones; the action checks the rest (not in the future, a protocol in force)."""
    if value is not None and not 2019 <= value.year <= 9000:
        raise ValueError("is not a plausible date")
    return value


Text = Annotated[str, AfterValidator(_storable)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# ---- input --------------------------------------------------------------------------------------

# Literals so that the OpenAPI document lists the values (a test keeps them equal to the choices).
SOURCE = Literal[
    "red_code", "yellow_code", "starred_itinerary", "risk_area_arrival", "close_contact", "secondary_contact",
    "companion", "fever_medicine", "positive_pool", "other",
]  # fmt: skip


class ListIn(Schema):
    key: Text = Field(description="Your idempotency key for this list (1–100 characters).")
    title: Text
    issuer: Text = Field(description="Who pushed the list, e.g. 市疫情防控指挥部.")
    source: SOURCE = Field(description="Why the list was pushed.")
    category: Text = Field("", description="Default protocol category of the entries (key, label or alias).")
    received_at: Annotated[dt.datetime | None, AfterValidator(_plausible)] = None


class EntryBody(Schema):
    key: Text = Field(description="Your idempotency key for this entry (1–100 characters).")
    name: Text
    id_number: Text = ""
    id_type: Text = Field(
        "", description="resident_id (default), passport, hk_macao, taiwan, foreign_pr, other."
    )
    phone: Text = ""
    origin: Text = ""
    arrived_at: Text | None = Field(None, description="2022-05-30 or 2022-05-30 14:00.")
    exposed_at: Text | None = None
    address: Text = ""
    category: Text = Field("", description="The protocol category; empty: the list's default.")
    note: Text = ""


class EntriesIn(Schema):
    # The limit is checked by the intake (with its own message); the schema only documents it.
    entries: list[EntryBody] = Field(json_schema_extra={"minItems": 1, "maxItems": MAX_API_ENTRIES})


KEY_PERSON_STATUS = Literal[
    "", "open", "verified", "dispatch", "to_verify", "classified", "cleared", "elsewhere", "wrong_person"
]
KEY_PERSON_SOURCE = Literal["", SOURCE]
KEY_PERSON_SORT = Literal[
    "due", "-due", "name", "-name", "received", "-received", "status", "-status", "verified", "-verified"
]


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_ID)
    per_page: int = Field(25, ge=1, le=MAX_PER_PAGE)


class KeyPersonQuery(PageQuery):
    """The ledger's filters (screening.filters.KeyPersonFilters reads them)."""

    q: Text = Field("", max_length=100, description="Part of a name, or an exact resident ID or mobile.")
    status: KEY_PERSON_STATUS = Field("", description="A status, or `open` / `verified` for the groups.")
    category: Text = Field("", max_length=64, description="Pushed or classified category key.")
    source: KEY_PERSON_SOURCE = ""
    community: Id | None = None
    grid: Id | None = None
    list: Id | None = Field(None, description="Only persons named in this pushed list.")
    overdue: bool = Field(False, description="Only open persons past their verification deadline.")
    review: bool = Field(False, description="Only persons with register candidates to confirm.")
    sort: KEY_PERSON_SORT = "-received"


# ---- output -------------------------------------------------------------------------------------


class UnitOut(Schema):
    id: int
    name: str


class ListCounts(Schema):
    received: int
    matched: int
    routed: int
    verified: int
    classified: int
    overdue: int
    dispatch: int
    handed_back: int


class ListOut(Schema):
    id: int
    key: str
    title: str
    issuer: str
    source: str
    category: str
    protocol_key: str
    received_at: dt.datetime
    rows: int
    counts: ListCounts = Field(description="What became of the entries so far.")
    intake: dict[str, int] = Field(
        description="What receiving the entries did: matched, new persons, routed."
    )


class PushedOut(Schema):
    key: str
    status: Literal["created", "duplicate"]
    key_person_id: int | None


class PushOut(Schema):
    created: int
    duplicates: int
    entries: list[PushedOut]


class HandBackOut(Schema):
    community: str
    reason: str
    at: dt.datetime


class ResultOut(Schema):
    row: int
    key: str
    name: str
    id_masked: str
    phone_masked: str
    category: str
    category_label: str
    match: str
    key_person_id: int
    community: UnitOut | None
    grid: UnitOut | None
    status: str
    verified_at: dt.datetime | None
    outcome: str
    where: str
    classified_category: str
    measure_type: str
    measure_start: dt.date | None
    measure_end: dt.date | None
    handed_back: list[HandBackOut]


class ResultPage(Schema):
    count: int
    page: int
    pages: int
    per_page: int
    results: list[ResultOut]


class KeyPersonOut(Schema):
    id: int
    person_id: int
    name: str
    id_masked: str
    phone_masked: str
    category: str
    category_label: str
    status: str
    round: int
    received_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    community: UnitOut | None
    grid: UnitOut | None
    household_id: int | None
    address: str
    route_method: str
    needs_review: bool
    attempts: int
    verified_at: dt.datetime | None
    classified_category: str
    measure_type: str
    measure_start: dt.date | None
    measure_end: dt.date | None


class SourceOut(Schema):
    list_id: int
    list_title: str
    issuer: str
    source: str
    row: int
    category: str
    match: str
    pushed_at: dt.datetime


class KeyPersonDetail(KeyPersonOut):
    sources: list[SourceOut]


class KeyPersonPage(Schema):
    count: int
    page: int
    pages: int
    per_page: int
    results: list[KeyPersonOut]


# ---- rows into shapes ---------------------------------------------------------------------------


def unit(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def list_out(plist: PushedList, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": plist.pk, "key": plist.client_key, "title": plist.title, "issuer": plist.issuer,
        "source": plist.source, "category": plist.category, "protocol_key": plist.protocol_key,
        "received_at": plist.received_at, "rows": plist.rows, "counts": counts,
        "intake": {str(k): int(v) for k, v in (plist.counts or {}).items()},
    }  # fmt: skip


def result_out(entry: PushedEntry, protocol_key: str) -> dict[str, Any]:
    """One entry of a list and what became of its key person (verifications and hand-backs prefetched)."""
    kp = entry.key_person
    last = next(iter(kp.verifications.all()), None)
    return {
        "row": entry.row, "key": entry.client_key, "name": entry.name, "id_masked": entry.id_masked,
        "phone_masked": entry.phone_masked, "category": entry.category,
        "category_label": category_label(protocol_key, entry.category), "match": entry.match,
        "key_person_id": kp.pk, "community": unit(kp.community), "grid": unit(kp.grid), "status": kp.status,
        "verified_at": kp.verified_at, "outcome": last.outcome if last else "", "where": last.where if last else "",
        "classified_category": kp.classified_category, "measure_type": kp.measure_type,
        "measure_start": kp.measure_start, "measure_end": kp.measure_end,
        "handed_back": [
            {"community": b.community.name, "reason": b.reason, "at": b.created_at} for b in kp.handbacks.all()
        ],
    }  # fmt: skip


def key_person_out(kp: KeyPerson, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    person = kp.person
    return {
        "id": kp.pk, "person_id": kp.person_id, "name": person.name, "id_masked": person.id_masked,
        "phone_masked": person.phone_masked, "category": kp.category,
        "category_label": category_label(kp.protocol_key, kp.category), "status": kp.status,
        "round": kp.round, "received_at": kp.received_at, "due_at": kp.due_at,
        "overdue": kp.is_open and kp.due_at < now, "community": unit(kp.community), "grid": unit(kp.grid),
        "household_id": kp.household_id, "address": kp.address_text, "route_method": kp.route_method,
        "needs_review": bool(kp.candidates), "attempts": kp.attempts, "verified_at": kp.verified_at,
        "classified_category": kp.classified_category, "measure_type": kp.measure_type,
        "measure_start": kp.measure_start, "measure_end": kp.measure_end,
    }  # fmt: skip


def source_out(entry: PushedEntry) -> dict[str, Any]:
    plist = entry.pushed_list
    return {
        "list_id": plist.pk, "list_title": plist.title, "issuer": plist.issuer, "source": plist.source,
        "row": entry.row, "category": entry.category, "match": entry.match, "pushed_at": entry.created_at,
    }  # fmt: skip
