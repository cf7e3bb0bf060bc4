"""Matching pushed entries to the register, joining key persons across lists, routing them to a
community and grid with a verification work item due per the protocol, and reopening on a new push."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone, translation

from jiedao.registry.actions import do_create_building, do_create_compound
from jiedao.registry.choices import IdType
from jiedao.registry.identity import id_lookup_key
from jiedao.registry.models import Person
from jiedao.registry.tests.factories import make_household, make_person
from jiedao.screening import actions
from jiedao.screening.choices import KeyPersonStatus, MatchMethod, Outcome, RouteMethod
from jiedao.screening.models import KeyPerson, PushedEntry
from jiedao.screening.tests.helpers import HEADER, phone_no, receive, rid, xlsx
from jiedao.work.choices import Priority, WorkStatus
from jiedao.work.models import WorkItem
from jiedao.work.queries import inbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


_n = iter(range(1, 10**6))


def entry(
    name: str, id_number: str = "", phone: str = "", address: str = "", category: str = ""
) -> list[Any]:
    """A row under HEADER: 序号, 姓名, 身份证号, 手机号, 来源地, 抵达时间, 现住址, 风险类别."""
    return [next(_n), name, id_number, phone, "上海", "2022-07-01 08:00", address, category]


def push(cast: Any, *rows: list[Any], **meta: Any) -> tuple[Any, Any]:
    """Receive a list of these rows (as the command centre) and insist it was accepted."""
    # A note makes every file unique (the same bytes twice would be the same list, received once).
    data = xlsx([[*HEADER, "备注"], *([*r, f"第{next(_n)}批"] for r in rows)])
    plist, result = receive(cast["command"], data, **meta)
    assert result.ok and result.previous is None, result.report.messages()
    return plist, result


def resident(cast: Any, *, grid: Any = None, compound: str = "测试花园", **kw: Any) -> Person:
    """The head of a new household in community A (grid A1 unless given)."""
    hh = make_household(cast.community_a, grid or cast.grid_a1, members=1, compound=compound, **kw)
    return hh.residents.get().person


def key_person_of(person: Person) -> KeyPerson:
    return KeyPerson.objects.select_related("work_item").get(person=person)


# ---- matching ------------------------------------------------------------------------------------


def test_by_id_even_when_the_name_differs_with_a_warning(cast):
    p = resident(cast)
    _plist, result = push(cast, entry(p.name + "某", p.id_number, phone_no(9001)))
    e = PushedEntry.objects.get()
    assert e.match == MatchMethod.ID and e.key_person.person_id == p.pk
    assert Person.objects.filter(name=p.name + "某").count() == 0  # no second person
    [warning] = result.report.warnings
    assert (warning.row, warning.column) == (
        2,
        "姓名",
    ) and f"Name on the register: {p.name}" in warning.message
    assert result.report.counts["matched_id"] == 1 and result.report.counts.get("new_persons", 0) == 0


def test_by_id_with_the_same_name_gives_no_warning(cast):
    p = resident(cast)
    _plist, result = push(cast, entry(p.name, p.id_number))
    assert result.report.warnings == [] and PushedEntry.objects.get().match == MatchMethod.ID


def test_by_phone_when_the_entry_has_no_id(cast):
    p = resident(cast)
    push(cast, entry(p.name, "", p.phone))
    e = PushedEntry.objects.get()
    assert e.match == MatchMethod.PHONE and e.key_person.person_id == p.pk
    assert key_person_of(p).candidates == []


def test_a_phone_alone_under_another_name_is_only_a_candidate(cast):
    p = resident(cast)
    push(cast, entry("完全不同", "", p.phone))
    e = PushedEntry.objects.get()
    assert e.match == MatchMethod.NEW and e.key_person.person_id != p.pk
    assert e.key_person.candidates == [p.pk]


def test_a_phone_shared_by_two_gives_candidates_and_a_new_person(cast):
    phone = phone_no(9100)
    mother = make_person(name="刘桂英", phone=phone)
    son = make_person(name="刘强", phone=phone)
    persons_before = Person.objects.count()
    _plist, result = push(cast, entry("刘小强", "", phone))
    e = PushedEntry.objects.get()
    assert e.match == MatchMethod.NEW
    kp = e.key_person
    assert sorted(kp.candidates) == sorted([mother.pk, son.pk])
    assert kp.person_id not in (mother.pk, son.pk) and kp.person.name == "刘小强"
    assert Person.objects.count() == persons_before + 1
    assert result.report.counts["needs_review"] == 1


def test_a_shared_phone_matches_the_one_with_the_same_name(cast):
    phone = phone_no(9200)
    make_person(name="陈敏", phone=phone)
    son = make_person(name="陈杰", phone=phone)
    push(cast, entry("陈杰", "", phone))
    e = PushedEntry.objects.get()
    assert e.match == MatchMethod.PHONE and e.key_person.person_id == son.pk


def test_a_phone_does_not_join_two_different_documents(cast):
    p = resident(cast)
    other_id = rid(9300)
    push(cast, entry(p.name, other_id, p.phone))
    e = PushedEntry.objects.get()
    assert e.match == MatchMethod.NEW and e.key_person.person_id != p.pk


def test_name_and_address_candidates(cast):
    p = resident(cast, compound="锦城花园")
    make_household(cast.community_a, cast.grid_a1, members=1, compound="别的小区")
    elsewhere = Person.objects.exclude(pk=p.pk).filter(residencies__isnull=False).get()
    Person.objects.filter(pk=elsewhere.pk).update(name=p.name)  # same name, another compound
    push(cast, entry(p.name, rid(9400), phone_no(9400), address="成都市锦城花园2栋1单元301"))
    kp = PushedEntry.objects.get().key_person
    assert kp.candidates == [p.pk]
    assert kp.person_id != p.pk and kp.person.id_number == rid(9400)  # the pushed person, kept
    assert (kp.community_id, kp.route_method) == (cast.community_a.pk, RouteMethod.ADDRESS)


def test_not_on_the_register_becomes_a_person_with_the_pushed_identity(cast):
    number, phone = rid(9500, birth=dt.date(1990, 3, 4), female=True), phone_no(9500)
    push(cast, entry("新来的", number, phone))
    e = PushedEntry.objects.get()
    person = e.key_person.person
    assert e.match == MatchMethod.NEW
    assert (person.name, person.id_number, person.phone) == ("新来的", number, phone)
    assert person.id_index == id_lookup_key(IdType.RESIDENT_ID, number) and person.id_masked
    assert (person.birth_date, person.sex) == (dt.date(1990, 3, 4), "F")
    assert e.id_number == number and e.id_masked == person.id_masked and e.phone_masked
    # Pushed again: found by the document this time, not registered twice.
    push(cast, entry("新来的", number, ""))
    assert Person.objects.filter(name="新来的").count() == 1
    assert PushedEntry.objects.order_by("pk").last().match == MatchMethod.ID
    assert KeyPerson.objects.count() == 1


def _two_lists(cast: Any, first: str, second: str) -> tuple[KeyPerson, dt.datetime, dt.datetime]:
    p = resident(cast)
    t0 = timezone.now() - dt.timedelta(hours=3)
    t1 = t0 + dt.timedelta(hours=1)
    push(cast, entry(p.name, p.id_number, category=first), received_at=t0)
    push(cast, entry(p.name, p.id_number, category=second), received_at=t1)
    assert KeyPerson.objects.count() == 1
    kp = key_person_of(p)
    assert kp.entries.count() == 2
    return kp, t0, t1


def test_the_same_person_on_two_lists_takes_the_more_urgent(cast):
    kp, t0, t1 = _two_lists(cast, "黄码", "密接")
    assert kp.category == "close_contact"
    assert kp.due_at == t1 + dt.timedelta(hours=12) < t0 + dt.timedelta(hours=24)  # not the yellow code's
    # The grid worker's item carries the earlier deadline too.
    assert kp.work_item.due_at == kp.due_at and kp.work_item.status == WorkStatus.OPEN
    assert WorkItem.objects.filter(kind="screening.verify").count() == 1


def test_the_same_person_on_two_lists_keeps_the_more_urgent(cast):
    kp, t0, _t1 = _two_lists(cast, "密接", "黄码")
    assert kp.category == "close_contact"
    assert kp.due_at == t0 + dt.timedelta(hours=12)
    assert kp.work_item.due_at == kp.due_at


# ---- routing -------------------------------------------------------------------------------------


def test_routed_by_household_to_the_grid_worker_due_per_protocol(cast):
    p = resident(cast, grid=cast.grid_a2)
    received = timezone.now() - dt.timedelta(hours=1)
    push(cast, entry(p.name, p.id_number, category="密接"), received_at=received)
    kp = key_person_of(p)
    household = p.residencies.get().household
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.route_method == RouteMethod.HOUSEHOLD
    assert (kp.community_id, kp.grid_id, kp.household_id) == (
        cast.community_a.pk,
        cast.grid_a2.pk,
        household.pk,
    )
    assert kp.protocol_key == "national-9th-edition" and kp.received_at == received
    assert kp.due_at == received + dt.timedelta(hours=12)  # close contacts: 12 h
    item = kp.work_item
    assert item.kind == "screening.verify" and item.role == "grid_worker"
    assert (item.community_id, item.grid_id, item.due_at) == (cast.community_a.pk, cast.grid_a2.pk, kp.due_at)
    assert item.priority == Priority.HIGH and item.subject_id == str(kp.pk) and p.name in item.title
    assert item in inbox(cast["grid_worker_a2"])
    assert item not in inbox(cast["grid_worker_a"])  # grid A1
    assert item not in inbox(cast["grid_worker_b"])


def test_routine_categories_get_a_day(cast):
    p = resident(cast)
    received = timezone.now() - dt.timedelta(hours=1)
    push(cast, entry(p.name, p.id_number, category="黄码"), received_at=received)
    kp = key_person_of(p)
    assert kp.due_at == received + dt.timedelta(hours=24) and kp.work_item.priority == Priority.NORMAL


def test_routed_by_the_compound_in_the_address(cast):
    compound = do_create_compound(actor=None, community=cast.community_b, name="锦江苑", grid=cast.grid_b1)
    push(cast, entry("路人甲", rid(9600), address="成都市锦江区锦江苑12号"))
    kp = KeyPerson.objects.get()
    assert kp.route_method == RouteMethod.ADDRESS and kp.compound_id == compound.pk
    assert (kp.community_id, kp.grid_id, kp.household_id) == (cast.community_b.pk, cast.grid_b1.pk, None)
    assert kp.work_item.grid_id == cast.grid_b1.pk and kp.work_item in inbox(cast["grid_worker_b"])
    assert kp.work_item not in inbox(cast["grid_worker_a"])


def test_the_building_number_picks_the_buildings_grid(cast):
    compound = do_create_compound(actor=None, community=cast.community_a, name="芳草地", grid=cast.grid_a1)
    do_create_building(actor=None, compound=compound, number="3", grid=cast.grid_a2)
    do_create_building(actor=None, compound=compound, number="13")  # the compound's grid
    push(
        cast,
        entry("三栋", rid(9701), address="芳草地3栋2单元501"),
        entry("十三栋", rid(9702), address="芳草地 13 栋"),
        entry("没有楼号", rid(9703), address="芳草地东门"),
    )
    grids = dict(KeyPerson.objects.values_list("person__name", "grid_id"))
    assert grids == {"三栋": cast.grid_a2.pk, "十三栋": cast.grid_a1.pk, "没有楼号": cast.grid_a1.pk}


def test_a_compound_without_a_grid_goes_to_the_community_staff(cast):
    compound = do_create_compound(actor=None, community=cast.community_a, name="无网格苑")
    do_create_building(actor=None, compound=compound, number="2", grid=cast.grid_a2)
    push(
        cast,
        entry("甲", rid(9801), address="无网格苑1栋"),
        entry("乙", rid(9802), address="无网格苑2栋"),
    )
    first, second = (KeyPerson.objects.get(person__name=n) for n in ("甲", "乙"))
    assert (first.community_id, first.grid_id, first.work_item.role) == (
        cast.community_a.pk,
        None,
        "community_staff",
    )
    assert first.work_item in inbox(cast["community_staff_a"])
    assert (second.grid_id, second.work_item.role) == (cast.grid_a2.pk, "grid_worker")


def test_the_household_wins_over_the_address(cast):
    do_create_compound(actor=None, community=cast.community_b, name="乙方小区", grid=cast.grid_b1)
    p = resident(cast)
    push(cast, entry(p.name, p.id_number, address="乙方小区1栋"))
    kp = key_person_of(p)
    assert (kp.community_id, kp.grid_id, kp.route_method) == (
        cast.community_a.pk,
        cast.grid_a1.pk,
        "household",
    )


def test_nowhere_goes_to_the_dispatch_queue(cast):
    do_create_compound(actor=None, community=cast.community_a, name="某某家园", grid=cast.grid_a1)
    _plist, result = push(cast, entry("无处", rid(9900), address="外省某县某村"), entry("无址", rid(9901)))
    for kp in KeyPerson.objects.all():
        assert kp.status == KeyPersonStatus.DISPATCH and kp.route_method == RouteMethod.NONE
        assert (kp.community_id, kp.grid_id, kp.work_item_id) == (None, None, None)
    assert not WorkItem.objects.filter(kind="screening.verify").exists()
    assert result.report.counts["routed_none"] == 2 and result.report.counts["work_items"] == 0


# ---- a new push after a verification -------------------------------------------------------------


def test_a_cleared_person_pushed_again_is_verified_again(cast):
    p = resident(cast)
    push(cast, entry(p.name, p.id_number, category="密接"))
    kp = key_person_of(p)
    first_item = kp.work_item
    actions.do_verify_key_person(
        actor=cast["grid_worker_a"], kp=kp, outcome=Outcome.REACHED_IN_AREA, category=""
    )
    kp.refresh_from_db()
    assert kp.status == KeyPersonStatus.CLEARED
    later = timezone.now() - dt.timedelta(minutes=5)
    _plist, result = push(cast, entry(p.name, p.id_number, category="时空伴随"), received_at=later)
    kp = key_person_of(p)
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.round == 2 and kp.category == "companion"
    assert kp.verified_at is None and kp.classified_category == ""
    assert kp.due_at == later + dt.timedelta(hours=12)
    item = kp.work_item
    assert item.pk != first_item.pk and item.status == WorkStatus.OPEN and item.due_at == kp.due_at
    first_item.refresh_from_db()
    assert first_item.status == WorkStatus.DONE
    assert item in inbox(cast["grid_worker_a"])
    assert result.report.counts["reopened"] == 1 and result.report.counts["work_items"] == 1


def test_a_closed_person_pushed_again_without_a_route_waits_in_dispatch(cast):
    compound = do_create_compound(actor=None, community=cast.community_a, name="再推小区", grid=cast.grid_a1)
    number = rid(9950)
    push(cast, entry("再推", number, address=f"{compound.name}1栋"))
    kp = KeyPerson.objects.get()
    actions.do_verify_key_person(actor=cast["grid_worker_a"], kp=kp, outcome=Outcome.WRONG_PERSON)
    push(cast, entry("再推", number))  # no address this time
    kp = KeyPerson.objects.get()
    assert kp.status == KeyPersonStatus.DISPATCH and kp.round == 2 and kp.community_id is None
    assert kp.work_item_id is None  # not the last round's finished item


def test_a_classified_person_pushed_again_only_gains_an_entry(cast):
    p = resident(cast)
    push(cast, entry(p.name, p.id_number, category="密接"))
    kp = key_person_of(p)
    today = timezone.localdate()
    actions.do_verify_key_person(
        actor=cast["grid_worker_a"], kp=kp, outcome=Outcome.REACHED_IN_AREA, category="close_contact",
        last_exposure=today - dt.timedelta(days=1), today=today,
    )  # fmt: skip
    kp.refresh_from_db()
    before = (kp.status, kp.round, kp.work_item_id, kp.measure_start, kp.measure_end, kp.due_at)
    assert kp.status == KeyPersonStatus.CLASSIFIED
    _plist, result = push(cast, entry(p.name, p.id_number, category="黄码"))
    kp.refresh_from_db()
    assert (kp.status, kp.round, kp.work_item_id, kp.measure_start, kp.measure_end, kp.due_at) == before
    assert kp.entries.count() == 2 and WorkItem.objects.filter(kind="screening.verify").count() == 1
    assert result.report.counts["joined"] == 1 and result.report.counts["work_items"] == 0


def test_a_person_handed_back_and_pushed_again_stays_in_dispatch(cast):
    """A new push does not send a handed-back person straight back to the community that refused them."""
    p = resident(cast)
    push(cast, entry(p.name, p.id_number))
    kp = key_person_of(p)
    actions.do_hand_back_key_person(actor=cast["community_staff_a"], kp=kp, reason="已搬走，不在本社区")
    push(cast, entry(p.name, p.id_number))
    kp.refresh_from_db()
    assert kp.status == KeyPersonStatus.DISPATCH and kp.community_id is None
    assert kp.entries.count() == 2
