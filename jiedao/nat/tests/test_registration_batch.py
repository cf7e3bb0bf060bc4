"""A registration batch is checked in memory against state read once, and written together at the end:
items later in a batch see the earlier ones (a key, a tube, a person), the number of statements does not
grow with the number of items, and a key stored by another request meanwhile sends the batch back item
by item, so that item is answered as the replay it is and nothing is doubled."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from jiedao.nat import registration
from jiedao.nat.models import Registration, RegistrationConflict, Sample, Tube
from jiedao.nat.registration import do_apply_registrations
from jiedao.nat.tests.test_registration import close_item, open_item, sample_item, setup  # noqa: F401
from jiedao.registry.models import Resident
from jiedao.registry.tests.factories import make_household

pytestmark = pytest.mark.django_db


def _tubes(s: dict[str, Any], people: list[Any], prefix: str, size: int = 10) -> list[dict[str, Any]]:
    items = []
    for n in range(0, len(people), size):
        code = f"{prefix}{n // size:04d}"
        items += [open_item(s, code, size), *(sample_item(p, code) for p in people[n : n + size])]
        items.append(close_item(code))
    return items


def test_later_items_see_the_earlier_ones_in_the_same_batch(setup: dict[str, Any]) -> None:  # noqa: F811
    s = setup
    a, b = s["people"][:2]
    first = sample_item(a, "TUBE000001")
    items = [
        open_item(s, "TUBE000001", 5),
        first,
        dict(first),  # the same key and content again: the first answer
        {**first, "id_number": b.id_number},  # the same key with other content: a conflict, kept
        sample_item(a, "TUBE000001", repeat_reason="再采"),  # already in this tube
        open_item(s, "TUBE000001"),  # opened a moment ago: in use
        open_item(s, "TUBE000002", 1),
        sample_item(a, "TUBE000002"),  # sampled earlier in this batch: needs a reason
        sample_item(a, "TUBE000002", repeat_reason="首管破损"),
        sample_item(b, "TUBE000002", repeat_reason="x"),  # a 1-tube is full after one
        close_item("TUBE000002"),
        sample_item(b, "TUBE000002"),  # closed in this batch
    ]
    with translation.override("en"):
        answers = do_apply_registrations(actor=s["sampler"], items=items).items
    assert [x["status"] for x in answers] == [
        "created", "created", "duplicate", "conflict", "refused", "refused",
        "created", "refused", "created", "refused", "created", "refused",
    ]  # fmt: skip
    assert answers[2] == {**answers[1], "status": "duplicate"}
    assert answers[4]["field"] == "id_number" and "already in this tube" in answers[4]["message"]
    assert answers[5]["field"] == "barcode" and "in use" in answers[5]["message"]
    assert answers[7]["field"] == "repeat_reason" and "TUBE000001" in answers[7]["message"]
    assert "full" in answers[9]["message"] and "closed" in answers[11]["message"]
    assert "首管破损" in answers[8]["warning"]
    assert RegistrationConflict.objects.get().registration.client_key == first["key"]
    assert sorted(Tube.objects.values_list("barcode", "members", "status")) == [
        ("TUBE000001", 1, "open"),
        ("TUBE000002", 1, "closed"),
    ]
    assert Sample.objects.filter(person=a).count() == 2 and not Sample.objects.filter(person=b).exists()
    # every applied or refused item is stored under its key (the replay and the conflict are not new)
    assert Registration.objects.count() == 10
    sample = Registration.objects.get(client_key=first["key"]).sample
    assert sample is not None and sample.tube.barcode == "TUBE000001"


def test_the_statements_do_not_grow_with_the_items(setup: dict[str, Any], cast: Any) -> None:  # noqa: F811
    s = setup
    people = list(s["people"])
    for _ in range(14):
        hh = make_household(cast.community_a, cast.grid_a1, members=3)
        people += [r.person for r in Resident.objects.filter(household=hh).select_related("person")]
    small, large = _tubes(s, people[:10], "SMALL"), _tubes(s, people[10:50], "LARGE")
    with CaptureQueriesContext(connection) as few:
        assert set(do_apply_registrations(actor=s["sampler"], items=small).counts) == {"created"}
    with CaptureQueriesContext(connection) as many:
        assert set(do_apply_registrations(actor=s["sampler"], items=large).counts) == {"created"}
    assert (len(small), len(large)) == (12, 48)
    # four times the items: the same statements (the site's staff check is the same), not four times
    assert len(many) <= len(few) + 2, [q["sql"][:90] for q in many.captured_queries]
    assert len(many) < 25
    assert Sample.objects.count() == 50 and set(Tube.objects.values_list("members", flat=True)) == {10}


def test_a_key_stored_meanwhile_sends_the_batch_back_item_by_item(
    setup: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = setup
    items = [open_item(s), *(sample_item(p) for p in s["people"][:4]), close_item()]
    first = do_apply_registrations(actor=s["sampler"], items=items)
    read = registration._Batch._read
    hidden: list[bool] = []

    def as_if_not_yet_stored(batch: Any) -> Any:
        stored = read(batch)
        if not hidden:  # the whole batch's read misses the keys, as if another request stored them just after
            hidden.append(True)
            return {}
        return stored

    monkeypatch.setattr(registration._Batch, "_read", as_if_not_yet_stored)
    again = do_apply_registrations(actor=s["sampler"], items=items)
    assert hidden == [True]
    assert [a["status"] for a in again.items] == ["duplicate"] * 6
    assert [{**a, "status": "-"} for a in again.items] == [{**a, "status": "-"} for a in first.items]
    tube = Tube.objects.get()
    assert (tube.members, tube.status, Sample.objects.count(), Registration.objects.count()) == (
        4,
        "closed",
        4,
        6,
    )
    assert not RegistrationConflict.objects.exists()


def test_a_tube_opened_meanwhile_is_refused_as_in_use(
    setup: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = setup
    do_apply_registrations(actor=s["sampler"], items=[open_item(s, "TUBE000009")])
    locked = registration._locked_tubes
    calls: list[int] = []

    def as_if_not_yet_opened(codes: list[str]) -> Any:
        calls.append(1)
        return {} if len(calls) == 1 else locked(codes)

    monkeypatch.setattr(registration, "_locked_tubes", as_if_not_yet_opened)
    with translation.override("en"):
        answers = do_apply_registrations(
            actor=s["sampler"], items=[open_item(s, "TUBE000009"), sample_item(s["people"][0], "TUBE000009")]
        ).items
    assert [a["status"] for a in answers] == ["refused", "created"]
    assert "in use" in answers[0]["message"]
    assert Tube.objects.get(barcode="TUBE000009").members == 1


def test_odd_values_answer_as_before(setup: dict[str, Any]) -> None:  # noqa: F811
    s = setup
    a, b = s["people"][:2]
    huge_round = {**open_item(s, "TUBE000008"), "round": 10**20}  # past any integer column
    items = [
        huge_round,
        {**open_item(s, "TUBE000009"), "capacity": True},  # JSON true is 1 (as before): answers say 1
        sample_item(a, "TUBE000009"),
        sample_item(b, "TUBE000009"),
    ]
    with translation.override("en"):
        answers = do_apply_registrations(actor=s["sampler"], items=items).items
    assert [x["status"] for x in answers] == ["refused", "created", "created", "refused"]
    assert answers[0]["field"] == "site"
    assert answers[2]["capacity"] == 1 and answers[3]["message"] == (
        "Tube TUBE000009 is full (1 of 1): close it and open a new one."
    )
    # a document number given as true and as 1 are different numbers, not one cached lookup
    do_apply_registrations(actor=None, items=[open_item(s, "TUBE000012")])
    odd = [
        {**sample_item(a, "TUBE000012"), "id_type": "passport", "id_number": True, "name": "甲来宾"},
        {**sample_item(a, "TUBE000012"), "id_type": "passport", "id_number": 1, "name": "乙来宾"},
    ]
    answers = do_apply_registrations(actor=s["sampler"], items=odd).items
    assert [(x["status"], x.get("person")) for x in answers] == [("created", "甲来宾"), ("created", "乙来宾")]


def test_a_key_repeated_with_other_content_is_a_conflict_even_where_forbidden(
    setup: dict[str, Any],  # noqa: F811
    cast: Any,
) -> None:
    s = setup
    do_apply_registrations(actor=None, items=[open_item(s, "TUBE000010"), {**open_item(s, "TUBE000011"), "site": s["other"].pk}])  # fmt: skip
    mine = sample_item(s["people"][0], "TUBE000010")
    elsewhere = {**mine, "barcode": "TUBE000011"}  # the same key, at a site the sampler does not staff
    answers = do_apply_registrations(actor=s["sampler"], items=[mine, elsewhere]).items
    assert [x["status"] for x in answers] == ["created", "conflict"]
    assert RegistrationConflict.objects.get().registration.client_key == mine["key"]
    # alone, the other site's item is answered as not yours, and not stored
    alone = do_apply_registrations(
        actor=s["sampler"], items=[sample_item(s["people"][1], "TUBE000011")]
    ).items
    assert (
        alone[0]["status"] == "forbidden"
        and Registration.objects.filter(client_key=alone[0]["key"]).count() == 0
    )


def test_a_newcomer_registered_meanwhile_by_another_phone_is_that_person(
    setup: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jiedao.registry import actions as registry_actions
    from jiedao.registry.models import Person
    from jiedao.registry.tests.factories import resident_id

    s = setup
    number, real = resident_id(), registry_actions.do_register_person

    def registered_first_elsewhere(**kw: Any) -> Any:
        real(**kw)  # the other phone's request, committed while this one waited at the register
        return real(**kw)  # this one now meets the duplicate: Conflict

    monkeypatch.setattr(registry_actions, "do_register_person", registered_first_elsewhere)
    newcomer = {**sample_item(s["people"][0], "TUBE000020"), "id_number": number, "name": "周来宾"}
    answers = do_apply_registrations(actor=s["sampler"], items=[open_item(s, "TUBE000020"), newcomer]).items
    assert [a["status"] for a in answers] == ["created", "created"]
    person = Person.objects.get(name="周来宾")
    assert Sample.objects.get(tube__barcode="TUBE000020").person == person
