"""The person-code card pages: each worker lists only the residents of their own area, with the
filters (household, compound, building, name or ID, the over-60s, the under-7s); the print sheet
carries a scannable code, the masked name and masked ID only, and is on record; neither page issues
a query per row."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

import pytest
from django.utils import timezone

from jiedao.core.identity import mask_name
from jiedao.core.models import AuditEntry
from jiedao.core.testing import assert_no_per_row_queries
from jiedao.nat.personcode import resolve_person_code
from jiedao.registry.actions import do_register_resident
from jiedao.registry.models import Household, Person, Resident
from jiedao.registry.tests.factories import make_household, person_name, resident_id

pytestmark = pytest.mark.django_db
_n = itertools.count(500)


def years_ago(years: int, days: int = 0) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - dt.timedelta(days=days)


def add(hh: Household, *, born: dt.date, name: str | None = None) -> Person:
    n = next(_n)
    r = do_register_resident(
        actor=None, household=hh, name=name or person_name(n), id_number=resident_id(n, birth=born)
    )
    return r.person


def people_of(hh: Household) -> list[Person]:
    return [r.person for r in Resident.objects.filter(household=hh).select_related("person").order_by("pk")]


def listed(resp: Any) -> set[int]:
    assert resp.status_code == 200, resp.content[:300]
    return {r.person_id for r in resp.context["list"].rows}


@pytest.fixture
def area(cast: Any) -> dict[str, Any]:
    a1 = make_household(cast.community_a, cast.grid_a1, members=0, compound="锦绣花园", building="3")
    elder = add(a1, born=years_ago(78), name="王秀英")
    child = add(a1, born=years_ago(4), name="王小宝")
    adult = add(a1, born=years_ago(35))
    a1b = make_household(cast.community_a, cast.grid_a1, members=0, compound="锦绣花园", building="5")
    neighbour = add(a1b, born=years_ago(61))
    a2 = make_household(cast.community_a, cast.grid_a2, members=2, compound="南苑")
    b1 = make_household(cast.community_b, cast.grid_b1, members=2, compound="北苑")
    return {"a1": a1, "a1b": a1b, "a2": a2, "b1": b1, "elder": elder, "child": child, "adult": adult,
            "neighbour": neighbour}  # fmt: skip


def test_each_worker_lists_only_their_own_area(login: Any, area: dict[str, Any]) -> None:
    a1 = {p.pk for hh in ("a1", "a1b") for p in people_of(area[hh])}
    a2 = {p.pk for p in people_of(area["a2"])}
    b1 = {p.pk for p in people_of(area["b1"])}
    assert listed(login("grid_worker_a").get("/nat/codes/")) == a1
    assert listed(login("grid_worker_a2").get("/nat/codes/")) == a2
    assert listed(login("community_staff_a").get("/nat/codes/")) == a1 | a2
    assert listed(login("command").get("/nat/codes/", {"per_page": 100})) == a1 | a2 | b1
    assert login("doctor_a").get("/nat/codes/").status_code == 403


def test_the_filters_narrow_the_list(login: Any, area: dict[str, Any]) -> None:
    client = login("grid_worker_a")
    a = area
    assert listed(client.get("/nat/codes/", {"age": "60+"})) == {a["elder"].pk, a["neighbour"].pk}
    assert listed(client.get("/nat/codes/", {"age": "0-6"})) == {a["child"].pk}
    assert listed(client.get("/nat/codes/", {"household": a["a1"].pk})) == {
        a["elder"].pk, a["child"].pk, a["adult"].pk,
    }  # fmt: skip
    assert listed(client.get("/nat/codes/", {"q": "王秀"})) == {a["elder"].pk}
    assert listed(client.get("/nat/codes/", {"q": a["neighbour"].id_number})) == {a["neighbour"].pk}
    compound = a["a1"].flat.compound_id
    assert len(listed(client.get("/nat/codes/", {"compound": compound}))) == 4
    building = a["a1b"].flat.entrance.building_id
    resp = client.get("/nat/codes/", {"compound": compound, "building": building})
    assert listed(resp) == {a["neighbour"].pk}
    assert [b.pk for b in resp.context["buildings"]]  # the building choices follow the compound
    # a household outside one's area reads as not found, not as an empty list
    assert client.get("/nat/codes/", {"household": a["b1"].pk}).status_code == 404
    assert client.get("/nat/codes/print/", {"household": a["a2"].pk}).status_code == 404


def test_the_sheet_has_a_scannable_code_and_masked_details_only(login: Any, area: dict[str, Any]) -> None:
    client = login("grid_worker_a")
    before = AuditEntry.objects.filter(action="nat.print_person_cards").count()
    resp = client.get("/nat/codes/print/", {"household": area["a1"].pk})
    assert resp.status_code == 200
    html = resp.content.decode()
    members = people_of(area["a1"])
    assert html.count('data-testid="card"') == len(members) == 3
    assert html.count("<svg") >= 3
    codes = re.findall(r'data-testid="card-code">([^<]+)<', html)
    assert sorted(resolve_person_code(c).pk for c in codes) == sorted(p.pk for p in members)
    for p in members:
        assert p.id_number not in html  # the full ID never reaches the page
        assert p.name not in html  # nor the full name: the card shows it masked
        assert mask_name(p.name) in html and p.id_masked in html
    entry = AuditEntry.objects.filter(action="nat.print_person_cards").order_by("-id").first()
    assert AuditEntry.objects.filter(action="nat.print_person_cards").count() == before + 1
    assert entry is not None and entry.changes["cards"] == 3
    assert entry.changes["filters"] == {"household": area["a1"].pk}


def test_only_the_ticked_in_ones_own_area_are_printed(login: Any, area: dict[str, Any]) -> None:
    outside = people_of(area["b1"])[0]
    resp = login("grid_worker_a").get(
        "/nat/codes/print/", {"person": [area["elder"].pk, area["child"].pk, outside.pk, "x"]}
    )
    codes = re.findall(r'data-testid="card-code">([^<]+)<', resp.content.decode())
    assert sorted(resolve_person_code(c).pk for c in codes) == sorted([area["elder"].pk, area["child"].pk])


def test_the_pages_issue_no_query_per_row(login: Any, cast: Any) -> None:
    client = login("community_staff_a")
    make_household(cast.community_a, cast.grid_a1, members=2)

    def add_rows(n: int) -> None:
        for _ in range(n // 4):
            make_household(cast.community_a, cast.grid_a1, members=4)

    def fetch_list() -> None:
        assert client.get("/nat/codes/", {"per_page": 100}).status_code == 200

    def fetch_print() -> None:
        assert client.get("/nat/codes/print/").status_code == 200

    assert_no_per_row_queries(fetch_list, add_rows, extra=20)
    assert_no_per_row_queries(fetch_print, add_rows, extra=20)
