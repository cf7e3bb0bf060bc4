"""The places API: scoped, filtered, paginated; API keys need `places.read`; one query count."""

from __future__ import annotations

import pytest

from jiedao.core.testing import assert_no_per_row_queries
from jiedao.org.actions import do_create_api_key
from jiedao.places.actions import do_create_place
from jiedao.places.tests.access import make_place

pytestmark = pytest.mark.django_db


def _clinics(cast, n: int, grid=None, prefix: str = "诊所"):  # type: ignore[no-untyped-def]
    grid = grid or cast.grid_a1
    for i in range(n):
        do_create_place(
            actor=None, kind="clinic", name=f"{prefix}{i:03d}", community=grid.community, grid=grid
        )


def test_list_is_scoped_filtered_and_paginated(cast, login) -> None:  # type: ignore[no-untyped-def]
    _clinics(cast, 30)
    make_place(cast)
    _clinics(cast, 2, grid=cast.grid_b1, prefix="乙")
    c = login("community_staff_a")
    body = c.get("/api/v1/places/", {"kind": "clinic", "per_page": 25, "sort": "-name"}).json()
    assert body["count"] == 30 and body["pages"] == 2 and len(body["results"]) == 25
    assert body["results"][0]["name"] == "诊所029"
    pharmacy = c.get("/api/v1/places/", {"kind": "pharmacy"}).json()["results"]
    assert len(pharmacy) == 1
    row = pharmacy[0]
    assert row["contact_phone_masked"] == "138****8000" and "contact_phone" not in row
    assert row["community"] == cast.community_a.name and row["grid_id"] == cast.grid_a1.pk
    assert c.get("/api/v1/places/", {"q": row["venue_code"]}).json()["count"] == 1


def test_bad_filters_are_422_naming_the_field(cast, login) -> None:  # type: ignore[no-untyped-def]
    c = login("command")
    resp = c.get("/api/v1/places/", {"kind": "casino"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "kind"
    other = login("community_staff_a").get("/api/v1/places/", {"community": cast.community_b.pk})
    assert other.status_code == 422 and other.json()["error"]["field"] == "community"


def test_detail_out_of_scope_is_404(cast, login) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    assert login("grid_worker_a").get(f"/api/v1/places/{place.pk}").json()["venue_code"] == place.venue_code
    resp = login("grid_worker_a2").get(f"/api/v1/places/{place.pk}")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_api_keys_need_places_read(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    _, without = do_create_api_key(
        actor=None, name="无权限", user=cast["community_staff_a"], permissions=["work.read"]
    )
    _, with_ = do_create_api_key(
        actor=None, name="场所", user=cast["community_staff_a"], permissions=["places.read"]
    )
    assert client.get("/api/v1/places/", HTTP_X_API_KEY=without).status_code == 403
    assert client.get(f"/api/v1/places/{place.pk}", HTTP_X_API_KEY=without).status_code == 403
    resp = client.get("/api/v1/places/", HTTP_X_API_KEY=with_)
    assert resp.status_code == 200 and resp.json()["count"] == 1
    assert client.get("/api/v1/places/", HTTP_X_API_KEY="jd_wrong").status_code == 401


def test_list_endpoint_does_not_query_per_row(cast, login) -> None:  # type: ignore[no-untyped-def]
    c = login("command")
    _clinics(cast, 2)
    assert_no_per_row_queries(
        lambda: c.get("/api/v1/places/", {"per_page": 100}),
        lambda n: _clinics(cast, n, grid=cast.grid_b1, prefix="乙"),
    )
