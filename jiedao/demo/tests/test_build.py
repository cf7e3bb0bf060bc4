"""The built demo: the article's figures, valid identities, households that hang together, places,
logins, scoping, work items and the audit trail. One build (5,000 residents) serves the module."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.db.models import Count, F, Q
from django.utils import timezone

from jiedao.core import audit
from jiedao.core.errors import NotFound
from jiedao.core.identity import mask_id, normalize_credit_code, parse_resident_id
from jiedao.core.models import AuditEntry
from jiedao.core.scoping import access
from jiedao.demo import data, geo
from jiedao.demo.build import DemoRefused, build_demo, person_digest
from jiedao.demo.staffing import planned_usernames
from jiedao.demo.tests.conftest import TEST_SCALE, TEST_SEED
from jiedao.demo.venues import VENUE_CODE_ALPHABET
from jiedao.org.choices import Role
from jiedao.org.models import Community, Grid, Subdistrict, User
from jiedao.places.choices import PlaceKind
from jiedao.places.models import Place
from jiedao.registry.choices import CareTagKind, HouseholdStatus, IdType, Relation
from jiedao.registry.identity import id_lookup_key, phone_lookup_key
from jiedao.registry.models import CareTag, Compound, Flat, Household, Person, Resident
from jiedao.work.choices import WorkStatus
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def test_article_figures(demo: dict[str, Any]) -> None:
    assert Place.objects.filter(kind=PlaceKind.CLINIC).count() == 218
    assert Place.objects.filter(kind=PlaceKind.PHARMACY).count() == 222
    nanhu = Compound.objects.get(name="南湖尚景")
    assert nanhu.community.name == "滨江社区"
    assert Flat.objects.filter(compound=nanhu).count() == 1324
    households = Household.objects.filter(flat__compound=nanhu)
    assert households.count() == 1263
    assert households.filter(status=HouseholdStatus.LIVING).count() == 1263
    assert households.values("flat").distinct().count() == 1263  # one household per occupied flat
    residents = Resident.objects.filter(household__flat__compound=nanhu, moved_out__isnull=True).count()
    assert residents > 3000
    assert demo["nanhu_shangjing"] == {
        "name": "南湖尚景", "community": "滨江社区", "grid": nanhu.grid.code, "mode": "exact",
        "flats": 1324, "households": 1263, "residents": residents,
    }  # fmt: skip
    names = set(Community.objects.values_list("name", flat=True))
    assert {"龙河社区", "滨江社区"} <= names and 8 <= len(names) <= 12
    per_community = Grid.objects.values("community").annotate(n=Count("id"))
    assert all(3 <= row["n"] <= 8 for row in per_community)


def test_residents_add_up_to_the_scale(demo: dict[str, Any]) -> None:
    assert Resident.objects.count() == TEST_SCALE
    # Besides the residents, the people the week's pushed lists named who are not on the register.
    assert Person.objects.count() == TEST_SCALE + demo["counts"]["new_persons_from_lists"]
    assert demo["counts"]["persons"] == TEST_SCALE
    assert demo["counts"]["households"] == Household.objects.count()
    # Every grid has people, so every grid worker has a beat.
    assert set(Household.objects.values_list("grid", flat=True)) == set(
        Grid.objects.values_list("pk", flat=True)
    )


def test_every_resident_id_is_valid_and_its_columns_agree(demo: dict[str, Any]) -> None:
    today = timezone.localdate()
    regions = Counter()
    kinds = Counter()
    for p in Person.objects.all():
        kinds[p.id_type] += 1
        assert p.id_masked == mask_id(p.id_number)
        assert p.id_index == id_lookup_key(p.id_type, p.id_number)
        if p.phone:
            assert p.phone_index == phone_lookup_key(p.phone) and p.phone_masked[:3] == p.phone[:3]
        if p.id_type != IdType.RESIDENT_ID:
            continue
        rid = parse_resident_id(p.id_number)  # raises on a bad checksum, date or region
        assert p.birth_date == rid.birth_date and p.sex == rid.sex
        assert 0 <= _age(rid.birth_date, today) <= 100
        regions[rid.region] += 1
    assert kinds[IdType.RESIDENT_ID] > 0.98 * TEST_SCALE
    # Mostly Chengdu, led by Shuangliu (Huayang's county before Tianfu New Area).
    chengdu = sum(n for region, n in regions.items() if region.startswith("5101"))
    assert chengdu > 0.4 * sum(regions.values())
    assert regions.most_common(1)[0][0] in (data.SHUANGLIU_OLD, data.SHUANGLIU_NEW)
    assert person_digest() == demo["digest"]


def test_households_hang_together(demo: dict[str, Any]) -> None:
    heads = Counter(Resident.objects.filter(relation=Relation.HEAD).values_list("household_id", flat=True))
    assert set(heads.values()) == {1} and len(heads) == Household.objects.count()
    head_of = dict(Resident.objects.filter(relation=Relation.HEAD).values_list("household_id", "person_id"))
    assert head_of == dict(Household.objects.values_list("pk", "head_id"))
    # A person's community and grid follow the household; so do the residency and the flat's.
    assert not Resident.objects.exclude(person__grid=F("household__grid")).exists()
    assert not Resident.objects.exclude(grid=F("household__grid")).exists()
    assert not Household.objects.exclude(grid=F("flat__grid")).exists()
    assert not Household.objects.exclude(community=F("grid__community")).exists()
    sizes = Counter(Household.objects.annotate(n=Count("residents")).values_list("n", flat=True))
    mean = sum(k * v for k, v in sizes.items()) / sum(sizes.values())
    assert 2.0 < mean < 3.2 and sizes[1] > 0 and max(sizes) <= 8


def test_care_tags_follow_the_people(demo: dict[str, Any]) -> None:
    today = timezone.localdate()
    counts = Counter(CareTag.objects.values_list("kind", flat=True))
    assert set(counts) == set(CareTagKind.values)
    assert counts == Counter(demo["counts"]["care_tags"])
    persons = TEST_SCALE
    assert 0.005 * persons < counts[CareTagKind.ELDERLY_ALONE] < 0.06 * persons
    assert 0.01 * persons < counts[CareTagKind.INFANT] < 0.08 * persons
    assert counts[CareTagKind.BEDRIDDEN] < 0.02 * persons
    for tag in CareTag.objects.select_related("person"):
        age = _age(tag.person.birth_date, today)
        if tag.kind == CareTagKind.ELDERLY_ALONE:
            assert age >= 60
            assert Resident.objects.filter(household__residents__person=tag.person).count() == 1
        elif tag.kind == CareTagKind.INFANT:
            assert age <= 3  # under three on 1 January of the build year
        elif tag.kind == CareTagKind.PREGNANT:
            assert tag.person.sex == "F" and 18 <= age <= 45


def test_places(demo: dict[str, Any]) -> None:
    code = re.compile(rf"^HY[{VENUE_CODE_ALPHABET}]{{8}}$")
    places = list(Place.objects.select_related("community", "grid"))
    assert len({p.venue_code for p in places}) == len(places)
    kinds = Counter(p.kind for p in places)
    for kind in (
        PlaceKind.FEVER_CLINIC, PlaceKind.MERCHANT, PlaceKind.SUPERMARKET, PlaceKind.RESTAURANT,
        PlaceKind.CONSTRUCTION_SITE, PlaceKind.PARCEL_DEPOT, PlaceKind.INTERNET_CAFE, PlaceKind.HOMESTAY,
        PlaceKind.SCHOOL, PlaceKind.ENTERPRISE_SITE,
    ):  # fmt: skip
        assert kinds[kind] > 0, kind
    assert kinds == Counter(demo["counts"]["places"])
    assert kinds[PlaceKind.COMPOUND_GATE] == Compound.objects.count()
    for p in places:
        assert code.match(p.venue_code), p.venue_code
        assert p.grid.community_id == p.community_id and p.address.startswith("华阳街道")
        assert geo.contains(p.grid.geometry, p.lng, p.lat), (p.name, p.lng, p.lat)
        if p.credit_code:
            assert normalize_credit_code(p.credit_code) == p.credit_code
        assert (
            p.contact_phone and p.contact_phone_masked == p.contact_phone[:3] + "****" + p.contact_phone[-4:]
        )
    longhe = Place.objects.filter(kind=PlaceKind.ENTERPRISE_SITE, community__name="龙河社区").count()
    assert longhe >= data.LONGHE_MEMBER_ENTERPRISES


def test_venue_codes_match_the_places_app() -> None:
    actions = pytest.importorskip("jiedao.places.actions")
    assert set(VENUE_CODE_ALPHABET) <= set(actions.VENUE_CODE_ALPHABET)
    assert actions.VENUE_CODE_PREFIX == "HY" and actions.VENUE_CODE_LENGTH == 8


def test_one_login_per_role_with_the_printed_password(demo: dict[str, Any]) -> None:
    logins = {row["role"]: row["username"] for row in demo["logins"]}
    assert set(logins) == set(Role.values)
    assert logins["command"] == "command" and logins["community_staff"] == "binjiang_staff"
    assert logins["grid_worker"] == "grid_binjiang_1"
    for role, username in logins.items():
        user = authenticate(username=username, password=demo["password"])
        assert user is not None, username
        assert user.roles == {role}
    assert set(User.objects.values_list("username", flat=True)) == planned_usernames()
    worker = User.objects.get(username="grid_binjiang_1")
    assert worker.scope.grid_ids == {Compound.objects.get(name="南湖尚景").grid_id}
    grid_workers = set(
        User.objects.filter(assignments__role=Role.GRID_WORKER).values_list("assignments__grid", flat=True)
    )
    assert grid_workers == set(Grid.objects.values_list("pk", flat=True))


def test_a_grid_worker_sees_only_their_grid(demo: dict[str, Any]) -> None:
    worker = User.objects.get(username="grid_binjiang_1")
    grid_id = next(iter(worker.scope.grid_ids))
    visible = set(Household.objects.visible_to(worker).values_list("pk", flat=True))
    assert visible == set(Household.objects.filter(grid_id=grid_id).values_list("pk", flat=True))
    assert visible >= set(
        Household.objects.filter(flat__compound__name="南湖尚景").values_list("pk", flat=True)
    )
    elsewhere = Household.objects.exclude(grid_id=grid_id).first()
    assert elsewhere is not None
    with pytest.raises(NotFound):
        access(Household.objects.all(), worker, elsewhere.pk)
    assert access(Household.objects.all(), worker, next(iter(visible))).grid_id == grid_id
    staff = User.objects.get(username="binjiang_staff")
    communities = set(Household.objects.visible_to(staff).values_list("community__name", flat=True))
    assert communities == {"滨江社区"}


def test_the_grid_worker_has_a_day_of_work(demo: dict[str, Any]) -> None:
    worker = User.objects.get(username="grid_binjiang_1")
    now = timezone.now()
    today = timezone.localdate()
    items = list(WorkItem.objects.filter(assignee=worker))
    open_items = [i for i in items if i.status in (WorkStatus.OPEN, WorkStatus.IN_PROGRESS)]
    assert any(timezone.localtime(i.due_at).date() == today and i.due_at > now for i in open_items)
    assert any(i.due_at < now for i in open_items)  # overdue
    done = [i for i in items if i.status == WorkStatus.DONE]
    assert done and all(timezone.localtime(i.done_at).date() == today for i in done)
    assert all(i.kind.startswith("registry.") and i.grid_id in worker.scope.grid_ids for i in items)
    subjects = Household.objects.filter(pk__in=[int(i.subject_id) for i in items])
    assert subjects.count() == len(items) and {h.grid_id for h in subjects} <= worker.scope.grid_ids


def test_one_audit_entry_per_stage(demo: dict[str, Any]) -> None:
    actions = list(
        AuditEntry.objects.filter(action__startswith="demo.").order_by("id").values_list("action", flat=True)
    )
    assert actions == [
        "demo.build_org", "demo.build_registry", "demo.build_places", "demo.build_staff", "demo.build_work",
        "demo.build_screening", "demo.build_control", "demo.build_sensors", "demo.build_nat", "demo.build_done",
    ]  # fmt: skip
    assert audit.verify_chain() == (True, None)
    done = AuditEntry.objects.get(action="demo.build_done")
    assert done.changes["digest"] == demo["digest"] and done.actor_id is None
    assert "password" not in done.changes and demo["password"] not in str(done.changes)


def test_a_second_identical_build_reuses_the_first(demo: dict[str, Any]) -> None:
    before = Person.objects.count()
    again = build_demo(scale=TEST_SCALE, seed=TEST_SEED)
    assert again["reused"] is True and again["digest"] == demo["digest"]
    assert Person.objects.count() == before
    with pytest.raises(DemoRefused, match="already built"):
        build_demo(scale=TEST_SCALE, seed=TEST_SEED + 1)
    with pytest.raises(DemoRefused, match="only into an empty database"):
        build_demo(scale=TEST_SCALE + 1000, seed=TEST_SEED)
    with pytest.raises(DemoRefused, match="nanhu none"):
        build_demo(scale=TEST_SCALE, seed=TEST_SEED, nanhu=False)


def test_the_map_outlines_tile(demo: dict[str, Any]) -> None:
    communities = geo.feature_collection("community")
    grids = geo.feature_collection("grid")
    subdistrict = geo.feature_collection("subdistrict")
    assert len(communities["features"]) == Community.objects.count()
    assert len(grids["features"]) == Grid.objects.count()
    names = [f["properties"]["name"] for f in grids["features"]]
    assert len(set(names)) == len(names)  # ECharts joins data on the name
    lng_min, lat_min, lng_max, lat_max = geo.bounds(subdistrict)
    assert 30.40 < lat_min < 30.50 < lat_max < 30.60 and 103.95 < lng_min < 104.05 < lng_max < 104.15
    whole = geo.polygon_area(subdistrict["features"][0]["geometry"])
    community_area = defaultdict(float)
    for f in grids["features"]:
        ring = f["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and geo.polygon_area(f["geometry"]) > 0
        community_area[f["properties"]["community_code"]] += geo.polygon_area(f["geometry"])
    for f in communities["features"]:
        assert geo.polygon_area(f["geometry"]) == pytest.approx(
            community_area[f["properties"]["code"]], rel=1e-4
        )
    assert sum(community_area.values()) == pytest.approx(whole, rel=1e-4)
    for c in Compound.objects.select_related("grid"):
        assert geo.contains(c.grid.geometry, c.lng, c.lat), c.name
    worker = User.objects.get(username="grid_binjiang_1")
    mine = geo.feature_collection("grid", Grid.objects.visible_to(worker))
    assert [f["properties"]["name"] for f in mine["features"]] == ["滨江社区第一网格"]
    assert Subdistrict.objects.get().geometry == subdistrict["features"][0]["geometry"]


def test_unknown_map_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown map level"):
        geo.feature_collection("province")


def test_building_into_someone_elses_database_is_refused(demo: dict[str, Any]) -> None:
    # A subdistrict that is not the demo's (the test cast's) next to it: refused, nothing written.
    Subdistrict.objects.create(name="测试街道", code="T")
    before = Person.objects.count()
    with pytest.raises(DemoRefused, match="already holds a subdistrict"):
        build_demo(scale=TEST_SCALE, seed=TEST_SEED)
    assert Person.objects.count() == before
    # Only the demo's: residents of Huayang and the people its pushed lists named (no grid of their own).
    assert not Person.objects.filter(~Q(grid__community__subdistrict__code="HY"), grid__isnull=False).exists()
    assert Person.objects.filter(grid__isnull=True).count() == demo["counts"]["new_persons_from_lists"]
