"""The rules of places/actions.py: venue codes, validation, who may write where, and the audit trail."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.core.identity import credit_check_char
from jiedao.core.models import AuditEntry
from jiedao.places import actions
from jiedao.places.models import Place
from jiedao.places.tests.access import make_place

pytestmark = pytest.mark.django_db

CODE = re.compile(r"^HY[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$")


def valid_credit_code(body: str = "91510100MA6CB1234") -> str:
    return body + credit_check_char(body)


def _create(cast, actor_key: str | None = "command", **kw):  # type: ignore[no-untyped-def]
    fields = {"kind": "clinic", "name": "华阳诊所", "community": cast.community_a, "grid": cast.grid_a1}
    fields.update(kw)
    actor = cast[actor_key] if actor_key else None
    return actions.do_create_place(actor=actor, **fields)


GOOD_CC = valid_credit_code()
BAD_CHECK = GOOD_CC[:17] + ("0" if GOOD_CC[17] != "0" else "1")


# ---- venue codes ------------------------------------------------------------------------------------


def test_venue_codes_are_unique_and_unambiguous(cast) -> None:  # type: ignore[no-untyped-def]
    codes = [_create(cast, name=f"诊所{i}").venue_code for i in range(40)]
    assert len(set(codes)) == 40
    assert all(CODE.match(c) for c in codes), codes
    assert not any(ch in "".join(c[2:] for c in codes) for ch in "01IOL")


def test_a_taken_code_is_drawn_again(cast, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    taken = _create(cast).venue_code
    draws = iter([taken, taken, "HYABCDEFGH"])
    monkeypatch.setattr(actions, "new_venue_code", lambda: next(draws))
    place = _create(cast, name="第二家")
    assert place.venue_code == "HYABCDEFGH"
    assert Place.objects.filter(venue_code=taken).count() == 1


def test_a_code_taken_between_check_and_insert_is_retried(cast, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The race: the existence check passed, then another request inserted the same code first.
    taken = _create(cast).venue_code
    draws = iter([taken, "HYZZZZZZZZ"])
    monkeypatch.setattr(actions, "_unique_venue_code", lambda: next(draws))
    place = _create(cast, name="并发")
    assert place.venue_code == "HYZZZZZZZZ"
    assert AuditEntry.objects.filter(action="places.create").count() == 2  # the failed insert left none


def test_a_generator_stuck_on_taken_codes_gives_a_conflict_not_a_500(cast, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    taken = _create(cast).venue_code
    monkeypatch.setattr(actions, "new_venue_code", lambda: taken)
    with pytest.raises(Conflict):
        _create(cast, name="卡住")
    assert Place.objects.count() == 1


# ---- validation ---------------------------------------------------------------------------------------


def test_create_writes_the_place_and_an_audit_entry(cast) -> None:  # type: ignore[no-untyped-def]
    place = _create(cast, credit_code=" " + GOOD_CC.lower() + " ", address=" 龙河路 8 号 ")
    assert place.credit_code == GOOD_CC
    assert place.address == "龙河路 8 号"
    entry = AuditEntry.objects.get(action="places.create", object_id=str(place.pk))
    assert entry.actor_id == cast["command"].pk
    assert entry.changes["venue_code"] == place.venue_code


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("credit_code", {"credit_code": GOOD_CC[:17] + "Z"}),  # Z is never used
        ("credit_code", {"credit_code": GOOD_CC[:16]}),  # too short
        ("credit_code", {"credit_code": BAD_CHECK}),
        ("name", {"name": "   "}),
        ("kind", {"kind": "casino"}),
        ("contact_phone", {"contact_phone": "12345"}),
        ("community", {"community": None, "grid": None}),
        ("lat", {"lat": 123.0}),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(cast, field: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as exc:
        _create(cast, **kwargs)
    assert exc.value.field == field
    assert Place.objects.count() == 0
    assert not AuditEntry.objects.filter(action="places.create").exists()


def test_grid_of_another_community_is_refused(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as exc:
        _create(cast, community=cast.community_a, grid=cast.grid_b1)
    assert exc.value.field == "grid"


def test_contact_phone_is_encrypted_at_rest_and_masked(cast) -> None:  # type: ignore[no-untyped-def]
    place = _create(cast, contact_phone="+86 138-0013-8000")
    assert place.contact_phone_masked == "138****8000"
    with connection.cursor() as cur:
        cur.execute("SELECT contact_phone FROM places_place WHERE id = %s", [place.pk])
        raw = cur.fetchone()[0]
    assert "13800138000" not in raw and raw.startswith("v1:")
    assert Place.objects.get(pk=place.pk).contact_phone == "13800138000"
    landline = _create(cast, name="座机", contact_phone="028-85551234")
    assert landline.contact_phone_masked == "028****1234"


# ---- who may write where ------------------------------------------------------------------------------


def test_community_staff_file_places_only_in_their_community(cast) -> None:  # type: ignore[no-untyped-def]
    assert _create(cast, "community_staff_a", grid=None).grid is None
    with pytest.raises(NotFound):
        _create(cast, "community_staff_b")


def test_grid_workers_file_places_in_their_own_grid(cast) -> None:  # type: ignore[no-untyped-def]
    place = _create(cast, "grid_worker_a", community=None, grid=cast.grid_a1)
    assert place.community_id == cast.community_a.pk
    with pytest.raises(InvalidInput) as exc:
        _create(cast, "grid_worker_a", community=cast.community_a, grid=None)
    assert exc.value.field == "grid"
    with pytest.raises(NotFound):
        _create(cast, "grid_worker_a", grid=cast.grid_a2)


@pytest.mark.parametrize(
    "key", ["inspector_a", "pharmacy_clerk_a", "enterprise_liaison_a", "auditor", "doctor_a"]
)
def test_read_only_roles_cannot_file_places(cast, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        _create(cast, key)
    assert Place.objects.count() == 0


def test_update_audits_the_diff_and_keeps_the_venue_code(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    code = place.venue_code
    actions.do_update_place(
        actor=cast["grid_worker_a"], place=place, name="甲一大药房（总店）", contact_phone="13900139000"
    )
    place.refresh_from_db()
    assert place.name == "甲一大药房（总店）" and place.venue_code == code
    assert place.contact_phone == "13900139000" and place.contact_phone_masked == "139****9000"
    entry = AuditEntry.objects.filter(action="places.update").get()
    assert entry.changes["name"] == ["甲一大药房", "甲一大药房（总店）"]
    assert entry.changes["contact_phone"] == ["138****8000", "139****9000"]
    assert "13900139000" not in str(entry.changes)


def test_an_update_that_changes_nothing_writes_nothing(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    actions.do_update_place(actor=cast["command"], place=place, name=place.name)
    assert not AuditEntry.objects.filter(action="places.update").exists()


def test_update_refuses_other_areas_and_unknown_fields(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    with pytest.raises(NotFound):
        actions.do_update_place(actor=cast["community_staff_b"], place=place, name="x")
    with pytest.raises(NotFound):  # a grid worker cannot move a place out of their grid
        actions.do_update_place(actor=cast["grid_worker_a"], place=place, grid=cast.grid_a2)
    with pytest.raises(Forbidden):  # sees it, may not edit
        actions.do_update_place(actor=cast["inspector_a"], place=place, name="x")
    with pytest.raises(InvalidInput):
        actions.do_update_place(actor=cast["command"], place=place, venue_code="HY22222222")
    place.refresh_from_db()
    assert place.name == "甲一大药房" and place.grid_id == cast.grid_a1.pk


def test_moving_to_another_grid_brings_its_community(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    actions.do_update_place(actor=cast["command"], place=place, grid=cast.grid_b1)
    place.refresh_from_db()
    assert (place.community_id, place.grid_id) == (cast.community_b.pk, cast.grid_b1.pk)


def test_deactivate_needs_a_reason_and_the_right_role(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    with pytest.raises(InvalidInput) as exc:
        actions.do_deactivate_place(actor=cast["community_staff_a"], place=place, reason=" ")
    assert exc.value.field == "reason"
    with pytest.raises(Forbidden):
        actions.do_deactivate_place(actor=cast["grid_worker_a"], place=place, reason="closed")
    with pytest.raises(NotFound):
        actions.do_deactivate_place(actor=cast["community_staff_b"], place=place, reason="closed")
    actions.do_deactivate_place(actor=cast["community_staff_a"], place=place, reason="closed down")
    place.refresh_from_db()
    assert place.active is False
    assert AuditEntry.objects.get(action="places.deactivate").reason == "closed down"
    with pytest.raises(Conflict):
        actions.do_deactivate_place(actor=cast["community_staff_a"], place=place, reason="again")
    actions.do_reactivate_place(actor=cast["command"], place=place)
    place.refresh_from_db()
    assert place.active is True


def test_revealing_a_contact_number_is_audited_with_its_reason(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    with pytest.raises(InvalidInput):
        actions.do_reveal_place_contact(actor=cast["inspector_a"], place=place, reason="")
    with pytest.raises(Forbidden):
        actions.do_reveal_place_contact(actor=cast["auditor"], place=place, reason="curious")
    with pytest.raises(NotFound):
        actions.do_reveal_place_contact(actor=cast["inspector_b"], place=place, reason="call")
    assert not AuditEntry.objects.filter(action="places.reveal_contact").exists()
    phone = actions.do_reveal_place_contact(actor=cast["inspector_a"], place=place, reason="约检查时间")
    assert phone == "13800138000"
    entry = AuditEntry.objects.get(action="places.reveal_contact")
    assert entry.actor_id == cast["inspector_a"].pk and entry.reason == "约检查时间"
