"""A round's coverage of the residents in scope (expected, sampled, missing) by community and grid,
the list of the missing with its Excel export, the round page, and Dorfman's pooling advice."""

from __future__ import annotations

import io
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from jiedao.core.scoping import Scope
from jiedao.core.testing import assert_no_per_row_queries
from jiedao.nat import coverage
from jiedao.nat.actions import do_apply_registrations
from jiedao.nat.results import do_record_results
from jiedao.nat.tests.test_registration import close_item, open_item, sample_item, setup  # noqa: F401
from jiedao.registry.models import Resident
from jiedao.registry.tests.factories import make_household


@pytest.fixture
def sampled(setup: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Twelve residents in grid A1 and three in B1; four of A1's sampled in one tube."""
    s = setup
    hh = make_household(s["site"].community, s["site"].grid, members=1)  # noqa: F841 (a thirteenth in A1)
    s["b_people"] = [
        r.person
        for r in Resident.objects.filter(household=make_household(s["other"].community, None, members=3))
    ]
    items = [
        open_item(s, "TUBE000001"),
        *(sample_item(p, "TUBE000001") for p in s["people"][:4]),
        close_item("TUBE000001"),
    ]
    assert {a["status"] for a in do_apply_registrations(actor=None, items=items).items} == {"created"}
    return s


def test_coverage_by_grid_and_the_missing(cast: Any, sampled: dict[str, Any]) -> None:
    rnd = sampled["round"]
    rows, total = coverage.coverage(rnd, Scope(everything=True))
    assert (total.expected, total.tested, total.missing) == (16, 4, 12)
    a1 = next(r for r in rows if r.key == cast.grid_a1.pk)
    assert (a1.expected, a1.tested, a1.percent) == (13, 4, 30.8)
    missing = coverage.missing(rnd, Scope(everything=True))
    assert missing.count() == 12 and not missing.filter(person__in=sampled["people"][:4]).exists()
    # an office sees its own community only
    rows_b, total_b = coverage.coverage(rnd, Scope(community_ids=frozenset({cast.community_b.pk})))
    assert (total_b.expected, total_b.tested) == (3, 0) and {r.community_id for r in rows_b} == {
        cast.community_b.pk
    }
    # a round scoped to community B expects only B's residents
    rnd.communities.set([cast.community_b])
    assert coverage.coverage(rnd, Scope(everything=True))[1].expected == 3


def test_dorfman() -> None:
    assert coverage.dorfman(0.01, 1) == 1.0
    assert coverage.dorfman(0.01, 10) == pytest.approx(0.1 + 1 - 0.99**10)
    table = {k: coverage.dorfman(0.01, k) for k in (1, 5, 10, 20)}
    assert min(table, key=lambda k: table[k]) == 10  # at 1 % a 10-in-1 pool is the cheapest


def test_pooling_advice_from_reported_pools(cast: Any, sampled: dict[str, Any]) -> None:
    s = sampled
    assert coverage.pooling_advice(s["round"]).prevalence is None  # nothing reported yet
    items = []
    for n, code in enumerate(("TUBE000002", "TUBE000003")):
        items += [
            open_item(s, code),
            *(sample_item(p, code) for p in s["people"][4 + 4 * n : 8 + 4 * n]),
            close_item(code),
        ]
    do_apply_registrations(actor=None, items=items)
    rows = [{"row": 1, "barcode": "TUBE000001", "result": "阳性"}, {"row": 2, "barcode": "TUBE000002", "result": "阴性"},
            {"row": 3, "barcode": "TUBE000003", "result": "阴性"}]  # fmt: skip
    do_record_results(actor=None, rows=rows, lab="天府检测中心")
    advice = coverage.pooling_advice(s["round"])
    assert advice.prevalence == pytest.approx(1 - (2 / 3) ** (1 / 4), rel=1e-4)
    assert advice.best == 5  # at ~10 % small pools win


def test_round_pages(cast: Any, sampled: dict[str, Any], login: Any) -> None:
    rnd = sampled["round"]
    client = login("command")
    html = client.get(f"/nat/rounds/{rnd.pk}/").content.decode()
    assert 'data-testid="coverage-percent">25.0%<' in html and 'data-testid="missing-count">12<' in html
    missing = client.get(f"/nat/rounds/{rnd.pk}/missing/?grid={cast.grid_a1.pk}").content.decode()
    assert missing.count('data-testid="missing-row"') == 9
    assert sampled["people"][5].id_number not in missing  # masked
    export = client.get(f"/nat/rounds/{rnd.pk}/missing/?export=1")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(export.content)).get_sheet_by_index(0).to_python()
    assert len(sheet) == 1 + 12 and all(
        sampled["people"][5].id_number not in str(c) for r in sheet for c in r
    )
    staff_b = login("community_staff_b").get(f"/nat/rounds/{rnd.pk}/").content.decode()
    assert 'data-testid="missing-count">3<' in staff_b  # their own area only
    assert login("volunteer_a").get(f"/nat/rounds/{rnd.pk}/").status_code == 403

    def add(n: int) -> None:
        make_household(cast.community_a, cast.grid_a1, members=n)

    assert_no_per_row_queries(lambda: client.get(f"/nat/rounds/{rnd.pk}/missing/"), add)
