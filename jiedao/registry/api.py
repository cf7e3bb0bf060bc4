"""The register's API: search and read persons and households within the caller's area, masked only.
API keys need the `registry.read` permission; out of scope reads as 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema

from jiedao.core.listing import sort_queryset
from jiedao.org.auth import require_permission
from jiedao.registry.filters import HOUSEHOLD_SORTS, PERSON_SORTS, HouseholdFilters, PersonFilters
from jiedao.registry.models import Household, Person, Resident
from jiedao.registry.queries import (
    access_household,
    access_person,
    household_members,
    households_visible_to,
    persons_visible_to,
    require_reader,
)

router = Router(tags=["registry"])
MAX_PER_PAGE = 100


class UnitOut(Schema):
    id: int
    name: str


class PersonOut(Schema):
    id: int
    name: str
    id_type: str
    id_masked: str
    phone_masked: str
    sex: str
    birth_date: dt.date | None
    age: int | None
    community: UnitOut | None
    grid: UnitOut | None
    care_tags: list[str]
    household_id: int | None


class PersonPage(Schema):
    count: int
    page: int
    per_page: int
    results: list[PersonOut]


class HeadOut(Schema):
    id: int
    name: str


class HouseholdOut(Schema):
    id: int
    file_no: str
    address: str
    status: str
    compound: str
    community: UnitOut | None
    grid: UnitOut | None
    head: HeadOut | None
    member_count: int
    care_count: int


class MemberOut(Schema):
    resident_id: int
    relation: str
    moved_in: dt.date | None
    person: PersonOut


class HouseholdDetail(HouseholdOut):
    members: list[MemberOut]


class HouseholdPage(Schema):
    count: int
    page: int
    per_page: int
    results: list[HouseholdOut]


def _guard(request: HttpRequest) -> None:
    require_permission(request, "registry.read")
    require_reader(request.user)


def _unit(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def _person(p: Person, household_id: int | None = None) -> dict[str, Any]:
    homes = getattr(p, "current_residencies", None)
    if household_id is None and homes:
        household_id = homes[0].household_id
    return {
        "id": p.pk, "name": p.name, "id_type": p.id_type, "id_masked": p.id_masked,
        "phone_masked": p.phone_masked, "sex": p.sex, "birth_date": p.birth_date, "age": p.age,
        "community": _unit(p.community), "grid": _unit(p.grid),
        "care_tags": [t.kind for t in p.care_tags.all()], "household_id": household_id,
    }  # fmt: skip


def _household(h: Household) -> dict[str, Any]:
    return {
        "id": h.pk, "file_no": h.file_no, "address": h.address, "status": h.status,
        "compound": h.flat.compound.name, "community": _unit(h.community), "grid": _unit(h.grid),
        "head": {"id": h.head.pk, "name": h.head.name} if h.head else None,
        "member_count": getattr(h, "member_count", 0), "care_count": getattr(h, "care_count", 0),
    }  # fmt: skip


def _page(request: HttpRequest, qs: QuerySet[Any], sorts: dict[str, str], default: str) -> tuple[Any, int]:
    qs, _ = sort_queryset(qs, request.GET.get("sort", default), sorts, default)
    try:
        per_page = max(1, min(MAX_PER_PAGE, int(request.GET.get("per_page", 25))))
    except ValueError:
        per_page = 25
    return Paginator(qs, per_page).get_page(request.GET.get("page")), per_page


@router.get(
    "persons", url_name="registry_persons", response=PersonPage, summary="Search or list persons (masked)"
)
def list_persons(request: HttpRequest) -> dict[str, Any]:
    """`q` is a resident ID or mobile number (exact match) or part of a name; also filters `community`,
    `grid`, `care_tag`, `sex`, `age_band`; `page`, `per_page` (≤ 100), `sort` (name, birth, updated)."""
    _guard(request)
    qs = PersonFilters.from_params(request.GET).apply(persons_visible_to(request.user))
    page, per_page = _page(request, qs, PERSON_SORTS, "name")
    return {
        "count": page.paginator.count, "page": page.number, "per_page": per_page,
        "results": [_person(p) for p in page.object_list],
    }  # fmt: skip


@router.get(
    "persons/{person_id}", url_name="registry_person", response=PersonOut, summary="One person (masked)"
)
def get_person(request: HttpRequest, person_id: int) -> dict[str, Any]:
    _guard(request)
    person = access_person(request.user, person_id)
    home = (
        Resident.objects.filter(person=person, moved_out__isnull=True)
        .order_by("-moved_in", "-pk")
        .values_list("household_id", flat=True)
        .first()
    )
    return _person(person, home)


@router.get("households", url_name="registry_households", response=HouseholdPage, summary="List households")
def list_households(request: HttpRequest) -> dict[str, Any]:
    """Filters `community`, `grid`, `compound`, `care_tag`, `status`, `q`; `page`, `per_page` (≤ 100),
    `sort` (address, file_no, members, care, updated)."""
    _guard(request)
    qs = HouseholdFilters.from_params(request.GET).apply(households_visible_to(request.user))
    page, per_page = _page(request, qs, HOUSEHOLD_SORTS, "address")
    return {
        "count": page.paginator.count, "page": page.number, "per_page": per_page,
        "results": [_household(h) for h in page.object_list],
    }  # fmt: skip


@router.get(
    "households/{household_id}",
    url_name="registry_household",
    response=HouseholdDetail,
    summary="One household with its members",
)
def get_household(request: HttpRequest, household_id: int) -> dict[str, Any]:
    _guard(request)
    hh = access_household(request.user, household_id)
    members = household_members(hh)
    body = _household(hh)
    body["member_count"] = len(members)
    body["care_count"] = sum(1 for m in members if m.person.care_tags.all())
    body["members"] = [
        {
            "resident_id": m.pk,
            "relation": m.relation,
            "moved_in": m.moved_in,
            "person": _person(m.person, hh.pk),
        }
        for m in members
    ]
    return body
