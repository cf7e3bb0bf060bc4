"""Actions of the register: identity, duplicates, residents, care tags, unmasking and edit rights."""

from __future__ import annotations

import datetime as dt

import pytest

from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.core.models import AuditEntry
from jiedao.registry import actions
from jiedao.registry.choices import CareTagKind, Relation, Sex
from jiedao.registry.models import CareTag, Household, Person, Resident
from jiedao.registry.tests.factories import make_household, make_person, mobile, resident_id

pytestmark = pytest.mark.django_db


def test_register_person_derives_sex_and_birth_and_masks(cast):
    number = resident_id(birth=dt.date(1988, 7, 15), female=True)
    p = actions.do_register_person(
        actor=cast["community_staff_a"], name="王芳", id_number=number, phone="+86 139-0000-1234",
        community=cast.community_a, grid=cast.grid_a1,
    )  # fmt: skip
    p.refresh_from_db()
    assert p.sex == Sex.FEMALE and p.birth_date == dt.date(1988, 7, 15)
    assert p.id_number == number and p.phone == "13900001234"
    assert p.id_masked == number[:4] + "*" * 10 + number[-4:]
    assert p.phone_masked == "139****1234"
    entry = AuditEntry.objects.filter(action="registry.register_person", object_id=str(p.pk)).get()
    assert number not in str(entry.changes) and "13900001234" not in str(entry.changes)


def test_register_person_rejects_a_bad_id_naming_the_field(cast):
    bad = resident_id()[:-1] + ("0" if resident_id()[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as exc:
        actions.do_register_person(actor=None, name="李四", id_number=bad[:17] + "Z")
    assert exc.value.field == "id_number"
    assert Person.objects.count() == 0


def test_duplicate_document_names_the_person_only_when_visible(cast):
    number = resident_id()
    existing = make_person(cast.community_a, cast.grid_a1, name="张三", id_number=number)
    with pytest.raises(Conflict) as seen:
        actions.do_register_person(
            actor=cast["community_staff_a"], name="张三丰", id_number=number, community=cast.community_a
        )
    assert "张三" in seen.value.message and seen.value.details == {"person_id": existing.pk}
    with pytest.raises(Conflict) as hidden:
        actions.do_register_person(
            actor=cast["community_staff_b"], name="张三丰", id_number=number, community=cast.community_b
        )
    assert "张三" not in hidden.value.message and hidden.value.details is None
    assert Person.objects.count() == 1


def test_residents_keep_person_community_and_grid_in_step(cast):
    a1 = make_household(cast.community_a, cast.grid_a1, members=1)
    a2 = make_household(cast.community_a, cast.grid_a2, members=0)
    person = Resident.objects.get(household=a1).person
    assert (person.community_id, person.grid_id) == (cast.community_a.pk, cast.grid_a1.pk)
    assert Household.objects.get(pk=a1.pk).head_id == person.pk

    actions.do_add_resident(actor=None, household=a2, person=person, relation=Relation.HEAD)
    person.refresh_from_db()
    assert person.grid_id == cast.grid_a2.pk
    moved = actions.do_move_out_resident(
        actor=None, resident=Resident.objects.get(household=a2, person=person), reason="搬家"
    )
    person.refresh_from_db()
    assert moved.moved_out is not None
    assert person.grid_id == cast.grid_a1.pk  # back to the household they still live in
    assert Household.objects.get(pk=a2.pk).head_id is None
    actions.do_move_out_resident(actor=None, resident=Resident.objects.get(household=a1, person=person))
    person.refresh_from_db()
    assert person.community_id is None and person.grid_id is None


def test_second_head_and_double_membership_are_refused(cast):
    hh = make_household(cast.community_a, cast.grid_a1, members=1)
    other = make_person(cast.community_a, cast.grid_a1)
    with pytest.raises(InvalidInput) as exc:
        actions.do_add_resident(actor=None, household=hh, person=other, relation=Relation.HEAD)
    assert exc.value.field == "relation"
    member = Resident.objects.get(household=hh).person
    with pytest.raises(Conflict):
        actions.do_add_resident(actor=None, household=hh, person=member)


def test_move_out_before_move_in_is_refused(cast):
    hh = make_household(cast.community_a, cast.grid_a1, members=1)
    r = Resident.objects.get(household=hh)
    with pytest.raises(InvalidInput) as exc:
        actions.do_move_out_resident(actor=None, resident=r, moved_out=r.moved_in - dt.timedelta(days=1))
    assert exc.value.field == "moved_out"
    r.refresh_from_db()
    assert r.moved_out is None


def test_register_resident_adds_a_visible_existing_person(cast):
    hh = make_household(cast.community_a, cast.grid_a1, members=0)
    number = resident_id()
    existing = make_person(cast.community_a, cast.grid_a1, id_number=number)
    r = actions.do_register_resident(
        actor=cast["grid_worker_a"], household=hh, name="whatever", id_number=number,
        care_tags=[CareTagKind.BEDRIDDEN],
    )  # fmt: skip
    assert r.person_id == existing.pk
    assert list(existing.care_tags.values_list("kind", flat=True)) == [CareTagKind.BEDRIDDEN]


def test_care_tags_replace_and_audit(cast):
    p = make_person(cast.community_a, cast.grid_a1)
    actions.do_set_care_tags(actor=cast["grid_worker_a"], person=p, kinds=["bedridden", "disabled"])
    actions.do_set_care_tags(actor=cast["grid_worker_a"], person=p, kinds=["disabled", "infant"])
    assert sorted(CareTag.objects.filter(person=p).values_list("kind", flat=True)) == ["disabled", "infant"]
    last = AuditEntry.objects.filter(action="registry.set_care_tags").first()
    assert last.changes["care_tags"] == [["bedridden", "disabled"], ["disabled", "infant"]]
    with pytest.raises(InvalidInput):
        actions.do_set_care_tags(actor=None, person=p, kinds=["vip"])


def test_update_person_changes_document_and_audits_masked(cast):
    p = make_person(cast.community_a, cast.grid_a1)
    new = resident_id()
    actions.do_update_person(
        actor=cast["community_staff_a"], person=p, id_number=new, phone="", reason="更正"
    )
    p.refresh_from_db()
    assert p.id_number == new and p.phone == "" and p.phone_masked == ""
    entry = AuditEntry.objects.filter(action="registry.update_person").get()
    assert new not in str(entry.changes)
    assert "id_number" in entry.changes and entry.reason == "更正"


def test_update_person_to_a_taken_document_is_a_conflict(cast):
    a = make_person(cast.community_a, cast.grid_a1)
    b = make_person(cast.community_a, cast.grid_a1)
    with pytest.raises(Conflict):
        actions.do_update_person(actor=None, person=b, id_number=a.id_number)
    b.refresh_from_db()
    assert b.id_number != a.id_number


def test_unmask_needs_a_reason_and_is_audited(cast):
    p = make_person(cast.community_a, cast.grid_a1, phone=mobile(77))
    with pytest.raises(InvalidInput) as exc:
        actions.do_unmask_person(actor=cast["grid_worker_a"], person=p, reason="  ")
    assert exc.value.field == "reason"
    assert not AuditEntry.objects.filter(action="registry.unmask_person").exists()
    plain = actions.do_unmask_person(actor=cast["grid_worker_a"], person=p, reason="上门核酸核实身份")
    assert plain == {"id_number": p.id_number, "phone": mobile(77)}
    entry = AuditEntry.objects.get(action="registry.unmask_person")
    assert entry.actor_id == cast["grid_worker_a"].pk and entry.reason == "上门核酸核实身份"
    assert entry.object_id == str(p.pk) and p.id_number not in str(entry.changes)


def test_edit_rights(cast):
    p = make_person(cast.community_a, cast.grid_a1)
    with pytest.raises(Forbidden):  # read-only role
        actions.do_set_care_tags(actor=cast["auditor"], person=p, kinds=["infant"])
    with pytest.raises(Forbidden):  # sees the register, may not change it
        actions.do_set_care_tags(actor=cast["doctor_a"], person=p, kinds=["infant"])
    with pytest.raises(NotFound):  # another grid
        actions.do_set_care_tags(actor=cast["grid_worker_a2"], person=p, kinds=["infant"])
    with pytest.raises(NotFound):  # another community
        actions.do_set_care_tags(actor=cast["community_staff_b"], person=p, kinds=["infant"])
    with pytest.raises(Forbidden):
        actions.do_unmask_person(actor=cast["doctor_a"], person=p, reason="看看")
    assert not CareTag.objects.filter(person=p).exists()
    actions.do_set_care_tags(actor=cast["grid_worker_a"], person=p, kinds=["infant"])
    assert CareTag.objects.filter(person=p).count() == 1


def test_grid_worker_cannot_open_a_household_outside_their_grid(cast):
    with pytest.raises(NotFound):
        actions.do_open_household(
            actor=cast["grid_worker_a"], community=cast.community_a, grid=cast.grid_a2, compound="X",
            building="1", entrance="1", flat="101",
        )  # fmt: skip
    with pytest.raises(NotFound):  # no grid: a community-level row, which a grid worker cannot even see
        actions.do_open_household(
            actor=cast["grid_worker_a"], community=cast.community_a, grid=None, compound="X",
            building="1", entrance="1", flat="101",
        )  # fmt: skip
    assert not Household.objects.exists()


def test_open_household_builds_the_path_once(cast):
    h1 = actions.do_open_household(
        actor=cast["community_staff_a"], community=cast.community_a, grid=cast.grid_a1, compound="南湖尚景",
        building="3栋", entrance="2单元", flat="1203室",
        head={"name": "户主", "id_number": resident_id(), "phone": mobile()},
    )  # fmt: skip
    h2 = actions.do_open_household(
        actor=cast["community_staff_a"], community=cast.community_a, grid=cast.grid_a1, compound="南湖尚景",
        building="3", entrance="2", flat="1204",
    )  # fmt: skip
    assert h1.address == "南湖尚景3栋2单元1203号" and h1.flat.floor == 12
    assert h1.flat.entrance_id == h2.flat.entrance_id
    assert h1.head is not None and h1.head.name == "户主"
    assert h1.file_no != h2.file_no and h1.file_no.startswith(cast.community_a.code)
