"""One filter set per list, shared by the HTML lists, their Excel exports and the API lists."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from jiedao.core.identity import mask_id, mask_phone
from jiedao.registry.choices import CareTagKind, HouseholdStatus, IdType, Sex
from jiedao.registry.identity import id_lookup_key, phone_lookup_key
from jiedao.registry.models import CareTag, Household, Person, Resident
from jiedao.registry.queries import classify_query

_DOC_LIKE = re.compile(r"^[0-9A-Z]{6,20}$")
AGE_BANDS: dict[str, tuple[Any, int, int | None]] = {
    "0-6": (_("0–6"), 0, 6),
    "7-17": (_("7–17"), 7, 17),
    "18-59": (_("18–59"), 18, 59),
    "60-79": (_("60–79"), 60, 79),
    "80+": (_("80 and over"), 80, None),
}

HOUSEHOLD_SORTS = {
    "address": "address",
    "file_no": "file_no",
    "members": "member_count",
    "care": "care_count",
    "updated": "updated_at",
}
PERSON_SORTS = {"name": "name", "birth": "birth_date", "updated": "updated_at"}


def _int(value: Any) -> int | None:
    """A positive id from a query string, or None (a database integer holds at most 2⁶³ − 1)."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text) or None


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _exact_person_q(q: str, prefix: str = "") -> Q | None:
    """An exact match on a resident ID or a mobile number, or None for free text."""
    kind, value = classify_query(q)
    if kind == "id":
        return Q(
            **{
                f"{prefix}id_type": IdType.RESIDENT_ID,
                f"{prefix}id_index": id_lookup_key(IdType.RESIDENT_ID, value),
            }
        )
    if kind == "phone":
        return Q(**{f"{prefix}phone_index": phone_lookup_key(value)})
    return None


def person_lookup_q(q: str, prefix: str = "person__") -> Q:
    """A resident ID or mobile exactly (blind index), else names from their start — as a range that the
    name index serves, so a ledger of 100,000 rows is not read whole (people search by surname or full
    name, not by a middle character)."""
    exact = _exact_person_q(q, prefix)
    if exact is not None:
        return exact
    return Q(**{f"{prefix}name__gte": q, f"{prefix}name__lt": q + "\U0010ffff"})


def masked_query(q: str) -> str:
    """A search text as the audit log may keep it: a resident ID or mobile number masked, text as is."""
    kind, value = classify_query(q)
    if kind == "id":
        return mask_id(value)
    if kind == "phone":
        return mask_phone(value)
    return q


def text_person_q(q: str) -> Q:
    """A name containing q, or (for a document-like q) a passport or permit number equal to it."""
    condition = Q(name__icontains=q)
    compact = re.sub(r"\s", "", q).upper()
    if _DOC_LIKE.match(compact):
        keys = [
            id_lookup_key(t, compact) for t in IdType.values if t not in (IdType.RESIDENT_ID, IdType.NONE)
        ]
        condition |= Q(id_index__in=keys)
    return condition


@dataclass
class HouseholdFilters:
    community: int | None = None
    grid: int | None = None
    compound: int | None = None
    care_tag: str = ""
    status: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> HouseholdFilters:
        care = str(params.get("care_tag") or "")
        status = str(params.get("status") or "")
        return cls(
            community=_int(params.get("community")),
            grid=_int(params.get("grid")),
            compound=_int(params.get("compound")),
            care_tag=care if care in CareTagKind.values or care == "any" else "",
            status=status if status in HouseholdStatus.values else "",
            q=str(params.get("q") or "").strip()[:100],
        )

    def as_params(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, "")}
        if "q" in out:
            out["q"] = masked_query(out["q"])  # the export's audit entry keeps no full ID or phone
        return out

    def apply(self, qs: QuerySet[Household]) -> QuerySet[Household]:
        if self.community:
            qs = qs.filter(community_id=self.community)
        if self.grid:
            qs = qs.filter(grid_id=self.grid)
        if self.compound:
            qs = qs.filter(flat__compound_id=self.compound)
        if self.status:
            qs = qs.filter(status=self.status)
        if self.care_tag:
            tags = CareTag.objects.filter(
                person__residencies__household=OuterRef("pk"), person__residencies__moved_out__isnull=True
            )
            if self.care_tag != "any":
                tags = tags.filter(kind=self.care_tag)
            qs = qs.filter(Exists(tags))
        if self.q:
            exact = _exact_person_q(self.q, "person__")
            if exact is not None:
                members = Resident.objects.filter(exact, household=OuterRef("pk"), moved_out__isnull=True)
                qs = qs.filter(Exists(members))
            else:
                named = Resident.objects.filter(
                    household=OuterRef("pk"), moved_out__isnull=True, person__name__icontains=self.q
                )
                qs = qs.filter(
                    Q(address__icontains=self.q)
                    | Q(flat__address__icontains=self.q)
                    | Q(file_no__iexact=self.q)
                    | Exists(named)
                )
        return qs


@dataclass
class PersonFilters:
    community: int | None = None
    grid: int | None = None
    care_tag: str = ""
    sex: str = ""
    age_band: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> PersonFilters:
        care = str(params.get("care_tag") or "")
        sex = str(params.get("sex") or "")
        band = str(params.get("age_band") or "")
        return cls(
            community=_int(params.get("community")),
            grid=_int(params.get("grid")),
            care_tag=care if care in CareTagKind.values or care == "any" else "",
            sex=sex if sex in Sex.values else "",
            age_band=band if band in AGE_BANDS else "",
            q=str(params.get("q") or "").strip()[:100],
        )

    def as_params(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, "")}
        if "q" in out:
            out["q"] = masked_query(out["q"])  # the export's audit entry keeps no full ID or phone
        return out

    def apply(self, qs: QuerySet[Person], today: dt.date | None = None) -> QuerySet[Person]:
        if self.community:
            qs = qs.filter(community_id=self.community)
        if self.grid:
            qs = qs.filter(grid_id=self.grid)
        if self.sex:
            qs = qs.filter(sex=self.sex)
        if self.care_tag:
            tags = CareTag.objects.filter(person=OuterRef("pk"))
            if self.care_tag != "any":
                tags = tags.filter(kind=self.care_tag)
            qs = qs.filter(Exists(tags))
        if self.age_band:
            today = today or dt.date.today()
            _, low, high = AGE_BANDS[self.age_band]
            # age >= low  ⇔  born on or before today - low years; age <= high ⇔ born after today - (high+1) years
            qs = qs.filter(birth_date__lte=_years_ago(today, low))
            if high is not None:
                qs = qs.filter(birth_date__gt=_years_ago(today, high + 1))
        if self.q:
            exact = _exact_person_q(self.q)
            qs = qs.filter(exact if exact is not None else text_person_q(self.q))
        return qs
