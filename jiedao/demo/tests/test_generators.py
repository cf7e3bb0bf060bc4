"""The generators on their own, without a database: outlines tile, people are plausible, counts fixed."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from faker import Faker

from jiedao.core.identity import parse_resident_id
from jiedao.demo import data, geo
from jiedao.demo.people import PeopleFactory, household_sizes
from jiedao.demo.venues import place_counts
from jiedao.places.choices import PlaceKind
from jiedao.registry.choices import IdType, Relation

REF = dt.date(2022, 1, 1)


def _factory(seed: int = 1) -> PeopleFactory:
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    return PeopleFactory(random.Random(seed), faker, REF)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_outlines_tile_and_stay_near_huayang(seed: int) -> None:
    layouts = [c.grid_layout for c in data.COMMUNITIES]
    out = geo.build_outlines(random.Random(seed), layouts)
    whole = geo.polygon_area(out.subdistrict)
    communities = [geo.polygon_area(c) for c in out.communities]
    assert all(a > 0 for a in communities)
    assert sum(communities) == pytest.approx(whole, rel=1e-4)
    for k, cells in enumerate(out.grids):
        assert len(cells) == layouts[k][0] * layouts[k][1]
        assert sum(geo.polygon_area(c.outline()) for c in cells) == pytest.approx(communities[k], rel=1e-4)
        for cell in cells:
            lng, lat = cell.point(0.5, 0.5)
            assert geo.contains(cell.outline(), lng, lat)
            assert geo.contains(out.communities[k], lng, lat)
            assert 30.44 < lat < 30.56 and 103.98 < lng < 104.12


def test_people_are_plausible() -> None:
    f = _factory()
    members = [m for _ in range(800) for m in f.household(f.household_size(), "commercial", rental=False)]
    ids = [m.id_number for m in members if m.id_type == IdType.RESIDENT_ID]
    assert len(set(ids)) == len(ids)
    for m in members:
        if m.id_type == IdType.RESIDENT_ID:
            rid = parse_resident_id(m.id_number, today=REF)
            assert rid.birth_date == m.birth and rid.sex == m.sex
        assert 2 <= len(m.name) <= 4 or m.id_type == IdType.PASSPORT
    phones = [m.phone for m in members if m.phone]
    assert len(set(phones)) == len(phones) and all(len(p) == 11 and p[0] == "1" for p in phones)
    ages = [f.age(m.birth) for m in members]
    assert min(ages) == 0 and max(ages) > 85
    elderly = sum(a >= 60 for a in ages) / len(ages)
    assert 0.1 < elderly < 0.35


def test_a_household_has_one_head_first() -> None:
    f = _factory(5)
    for size in range(1, 9):
        for _ in range(30):
            members = f.household(size, "resettlement", rental=False)
            assert len(members) == size
            assert members[0].relation == Relation.HEAD
            assert [m.relation for m in members].count(Relation.HEAD) == 1


def test_household_sizes_sum_to_the_total() -> None:
    f = _factory()
    sizes = household_sizes(random.Random(1), f, 1263, 3131)
    assert len(sizes) == 1263 and sum(sizes) == 3131 and all(1 <= s <= 8 for s in sizes)
    with pytest.raises(ValueError):
        household_sizes(random.Random(1), f, 10, 9)


def test_clinics_and_pharmacies_do_not_scale() -> None:
    small, large = place_counts(1000), place_counts(500_000)
    for counts in (small, large):
        assert counts[PlaceKind.CLINIC] == 218 and counts[PlaceKind.PHARMACY] == 222
    assert large[PlaceKind.RESTAURANT] > 10 * small[PlaceKind.RESTAURANT]
    assert Counter(data.chinese_number(n) for n in range(1, 30)).most_common(1)[0][1] == 1
