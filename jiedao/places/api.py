"""Places API: the scoped, filtered list and one place. API keys need the `places.read` permission."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from jiedao.core.listing import listing
from jiedao.org.auth import require_permission
from jiedao.places.choices import PlaceKind
from jiedao.places.filters import DEFAULT_SORT, SORTABLE, PlaceFilter
from jiedao.places.models import Place
from jiedao.places.queries import access_place, places_visible_to, require_viewer

router = Router(tags=["places"])


class PlaceOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    address: str
    community_id: int
    community: str
    grid_id: int | None
    grid: str | None
    venue_code: str
    contact_name: str
    contact_phone_masked: str
    credit_code: str
    active: bool
    lat: float | None
    lng: float | None


class PlacePage(Schema):
    count: int
    page: int
    pages: int
    per_page: int
    results: list[PlaceOut]


class PlaceQuery(Schema):
    q: str = ""
    kind: PlaceKind | None = None
    community: int | None = None
    grid: int | None = None
    active: str = "1"
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = 25


def place_out(p: Place) -> dict[str, Any]:
    return {
        "id": p.pk, "kind": p.kind, "kind_label": str(p.get_kind_display()), "name": p.name,
        "address": p.address, "community_id": p.community_id, "community": p.community.name,
        "grid_id": p.grid_id, "grid": p.grid.name if p.grid else None, "venue_code": p.venue_code,
        "contact_name": p.contact_name, "contact_phone_masked": p.contact_phone_masked,
        "credit_code": p.credit_code, "active": p.active, "lat": p.lat, "lng": p.lng,
    }  # fmt: skip


@router.get("/", response=PlacePage, url_name="places_list", summary="List places in scope")
def list_places(request: HttpRequest, filters: Query[PlaceQuery]) -> dict[str, Any]:
    """Filters: `q` (name, address, contact, exact venue or credit code), `kind`, `community`, `grid`,
    `active` (1, 0 or all; default 1). `sort` is one of the field names, `-` for descending."""
    require_permission(request, "places.read")
    require_viewer(request.user)
    form = PlaceFilter(request.GET, user=request.user)
    form.raise_first_error()
    qs = form.apply(places_visible_to(request.user))
    lst = listing(request, qs, sortable=SORTABLE, default_sort=DEFAULT_SORT)
    return {
        "count": lst.page.paginator.count,
        "page": lst.page.number,
        "pages": lst.page.paginator.num_pages,
        "per_page": lst.page.paginator.per_page,
        "results": [place_out(p) for p in lst.rows],
    }


@router.get("/{int:place_id}", response=PlaceOut, url_name="places_detail", summary="One place")
def get_place(request: HttpRequest, place_id: int) -> dict[str, Any]:
    require_permission(request, "places.read")
    return place_out(access_place(request.user, place_id))
