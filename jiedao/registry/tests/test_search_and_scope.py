"""Scoping of the register and the global search (exact by ID and phone, names and addresses)."""

from __future__ import annotations

import pytest

from jiedao.core.errors import Forbidden, NotFound
from jiedao.registry.models import Resident
from jiedao.registry.queries import access_household, access_person, households_visible_to, search
from jiedao.registry.tests.factories import make_household, make_person, mobile, resident_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def homes(cast):
    return {
        "a1": make_household(cast.community_a, cast.grid_a1, members=2, compound="甲一苑"),
        "a2": make_household(cast.community_a, cast.grid_a2, members=1, compound="甲二苑"),
        "b1": make_household(cast.community_b, cast.grid_b1, members=1, compound="乙一苑"),
    }


def test_grid_worker_of_a1_sees_only_a1(cast, homes):
    user = cast["grid_worker_a"]
    assert set(households_visible_to(user).values_list("pk", flat=True)) == {homes["a1"].pk}
    assert access_household(user, homes["a1"].pk) == homes["a1"]
    for other in ("a2", "b1"):
        with pytest.raises(NotFound):
            access_household(user, homes[other].pk)
        person = Resident.objects.filter(household=homes[other]).first().person
        with pytest.raises(NotFound):
            access_person(user, person.pk)


def test_community_staff_and_command_scopes(cast, homes):
    staff_a = set(households_visible_to(cast["community_staff_a"]).values_list("pk", flat=True))
    assert staff_a == {homes["a1"].pk, homes["a2"].pk}
    assert households_visible_to(cast["command"]).count() == 3
    assert households_visible_to(cast["auditor"]).count() == 3


def test_roles_outside_the_register_are_forbidden(cast, homes):
    with pytest.raises(Forbidden):
        access_household(cast["inspector_a"], homes["a1"].pk)
    with pytest.raises(Forbidden):
        search(cast["pharmacy_clerk_a"], "王")


def test_search_by_id_is_exact_and_scoped(cast):
    number = resident_id()
    hh = make_household(cast.community_a, cast.grid_a1, members=0)
    person = make_person(cast.community_a, cast.grid_a1, id_number=number)
    from jiedao.registry.actions import do_add_resident

    do_add_resident(actor=None, household=hh, person=person)
    found = search(cast["grid_worker_a"], f" {number[:6]} {number[6:]} ")
    assert found.kind == "id" and [p.pk for p in found.persons] == [person.pk]
    assert [h.pk for h in found.households] == [hh.pk]
    assert search(cast["grid_worker_a"], number.lower()).persons  # a lower-case x is the same ID
    assert search(cast["grid_worker_a2"], number).persons == []  # out of scope: nothing
    assert search(cast["community_staff_b"], number).persons == []
    partial = search(cast["grid_worker_a"], number[:12])
    assert partial.persons == [] and partial.households == []


def test_a_plain_text_id_never_matches_by_name_or_address(cast):
    number = resident_id()
    make_person(cast.community_a, cast.grid_a1, id_number=resident_id())
    # A household whose address happens to contain the digits must not come back for an ID search.
    make_household(cast.community_a, cast.grid_a1, members=0, compound=f"小区{number}")
    found = search(cast["command"], number)
    assert found.kind == "id"
    assert found.persons == [] and found.households == []
    text = search(cast["command"], "小区")
    assert text.kind == "text" and len(text.households) == 1


def test_search_by_phone_is_exact(cast):
    person = make_person(cast.community_a, cast.grid_a1, phone=mobile(4242))
    make_person(cast.community_a, cast.grid_a1, phone=mobile(4243))
    found = search(cast["community_staff_a"], f"+86 {mobile(4242)}")
    assert found.kind == "phone" and [p.pk for p in found.persons] == [person.pk]
    assert search(cast["community_staff_a"], mobile(4242)[:7]).persons == []


def test_search_by_name_and_address(cast):
    hh = make_household(cast.community_a, cast.grid_a1, members=0, compound="翠竹园")
    person = make_person(cast.community_a, cast.grid_a1, name="欧阳娜娜")
    make_person(cast.community_b, cast.grid_b1, name="欧阳修")
    by_name = search(cast["community_staff_a"], "欧阳")
    assert [p.pk for p in by_name.persons] == [person.pk]
    by_address = search(cast["community_staff_a"], "翠竹")
    assert [h.pk for h in by_address.households] == [hh.pk]


def test_search_matches_a_passport_exactly(cast):
    person = make_person(cast.community_a, cast.grid_a1, id_type="passport", id_number="E12345678")
    assert [p.pk for p in search(cast["command"], "e12345678").persons] == [person.pk]
    assert search(cast["command"], "E1234567").persons == []
