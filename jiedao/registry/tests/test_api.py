"""The register's API: masked values, scoping (out of scope → 404 JSON) and API-key permissions."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from jiedao.org.actions import do_create_api_key
from jiedao.registry.models import Resident
from jiedao.registry.tests.factories import make_household, make_person

pytestmark = pytest.mark.django_db
FULL_ID = re.compile(r"\d{17}[\dX]")


@pytest.fixture
def homes(cast):
    return {
        "a1": make_household(cast.community_a, cast.grid_a1, members=2, care_tags={1: ["pregnant"]}),
        "a2": make_household(cast.community_a, cast.grid_a2, members=1),
        "b1": make_household(cast.community_b, cast.grid_b1, members=1),
    }


def test_household_detail_with_members_masked(cast, login, homes):
    resp = login("grid_worker_a").get(f"/api/v1/registry/households/{homes['a1'].pk}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["file_no"] == homes["a1"].file_no and body["member_count"] == 2 and body["care_count"] == 1
    assert [m["relation"] for m in body["members"]] == ["head", "spouse"]
    assert body["members"][1]["person"]["care_tags"] == ["pregnant"]
    assert not FULL_ID.search(resp.content.decode())
    for m in Resident.objects.filter(household=homes["a1"]).select_related("person"):
        assert m.person.id_number not in resp.content.decode()
        assert m.person.phone not in resp.content.decode()


def test_grid_worker_of_a1_gets_404_json_outside_a1(cast, login, homes):
    client = login("grid_worker_a")
    for key in ("a2", "b1"):
        resp = client.get(f"/api/v1/registry/households/{homes[key].pk}")
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
        person = Resident.objects.filter(household=homes[key]).first().person_id
        assert client.get(f"/api/v1/registry/persons/{person}").status_code == 404
        page = client.get(f"/registry/households/{homes[key].pk}/")
        assert page.status_code == 404
    listed = client.get("/api/v1/registry/households").json()
    assert [h["id"] for h in listed["results"]] == [homes["a1"].pk] and listed["count"] == 1


def test_persons_search_exact_by_id(cast, login, homes):
    person = Resident.objects.filter(household=homes["a1"]).first().person
    client = login("community_staff_a")
    found = client.get("/api/v1/registry/persons", {"q": person.id_number}).json()
    assert [p["id"] for p in found["results"]] == [person.pk]
    assert found["results"][0]["id_masked"] == person.id_masked
    assert found["results"][0]["household_id"] == homes["a1"].pk
    assert client.get("/api/v1/registry/persons", {"q": person.id_number[:10]}).json()["count"] == 0
    assert (
        login("community_staff_b").get("/api/v1/registry/persons", {"q": person.id_number}).json()["count"]
        == 0
    )


def test_list_filters_and_pagination(cast, login, homes):
    client = login("command")
    page = client.get("/api/v1/registry/households", {"per_page": 2, "page": 2}).json()
    assert page["count"] == 3 and page["per_page"] == 2 and page["page"] == 2 and len(page["results"]) == 1
    tagged = client.get("/api/v1/registry/households", {"care_tag": "pregnant"}).json()
    assert [h["id"] for h in tagged["results"]] == [homes["a1"].pk]
    capped = client.get("/api/v1/registry/persons", {"per_page": 10_000}).json()
    assert capped["per_page"] == 100


def test_roles_outside_the_register_get_403(cast, login, homes):
    resp = login("inspector_a").get("/api/v1/registry/households")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"


def test_api_key_needs_registry_read(cast, homes):
    make_person(cast.community_a, cast.grid_a1)
    _, without = do_create_api_key(
        actor=None, name="no", user=cast["community_staff_a"], permissions=["places.read"]
    )
    _, with_read = do_create_api_key(
        actor=None, name="yes", user=cast["community_staff_a"], permissions=["registry.read"]
    )
    client = Client()
    denied = client.get("/api/v1/registry/households", HTTP_X_API_KEY=without)
    assert denied.status_code == 403 and "registry.read" in denied.json()["error"]["message"]
    allowed = client.get("/api/v1/registry/households", HTTP_X_API_KEY=with_read)
    assert allowed.status_code == 200 and allowed.json()["count"] == 2  # A1 and A2, not B1
    assert (
        client.get(f"/api/v1/registry/households/{homes['b1'].pk}", HTTP_X_API_KEY=with_read).status_code
        == 404
    )
