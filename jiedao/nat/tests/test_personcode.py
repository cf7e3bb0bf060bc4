"""The person code on a printed card: it names one person, holds no ID number, cannot be made without
the key, and a sampler's item may carry it instead of a resident ID — applied once, refused on its
own field when damaged or forged, and a replay answers the same."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

import pytest
from django.utils import timezone

from jiedao.core.errors import InvalidInput
from jiedao.nat import personcode
from jiedao.nat.actions import do_apply_registrations, do_open_round, do_save_site
from jiedao.nat.models import Registration, Sample
from jiedao.nat.personcode import person_code, person_from_item, resolve_person_code
from jiedao.registry.models import Person, Resident
from jiedao.registry.tests.factories import make_household, make_person

_keys = itertools.count(1)


def key(prefix: str) -> str:
    return f"pc-{prefix}-{next(_keys):06d}"


def at(minutes_ago: float = 20) -> str:
    return (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()


def _flip(ch: str) -> str:
    return "0" if ch != "0" else "1"


@pytest.fixture
def people(cast: Any) -> list[Person]:
    hh = make_household(cast.community_a, cast.grid_a1, members=3)
    return [r.person for r in Resident.objects.filter(household=hh).select_related("person").order_by("pk")]


@pytest.fixture
def tube(cast: Any) -> dict[str, Any]:
    site = do_save_site(actor=None, name="甲社区广场采样点", community=cast.community_a, grid=cast.grid_a1)
    site.staff.add(cast["sampler_a"])
    now = timezone.now()
    rnd = do_open_round(
        actor=None, name="第一轮全员核酸", starts_at=now - dt.timedelta(hours=2), ends_at=now + dt.timedelta(hours=8),
        sites=[site],
    )  # fmt: skip
    opened = do_apply_registrations(
        actor=cast["sampler_a"],
        items=[{"key": key("open"), "op": "open_tube", "barcode": "CODE000001", "capacity": 10,
                "round": rnd.pk, "site": site.pk, "at": at(60)}],
    )  # fmt: skip
    assert opened.items[0]["status"] == "created"
    return {"sampler": cast["sampler_a"], "barcode": "CODE000001", "round": rnd}


def sample(t: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"key": key("s"), "op": "sample", "barcode": t["barcode"], "at": at(), **fields}


# ---- the code itself --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_code_names_its_person_and_holds_no_id_number(people: list[Person]) -> None:
    codes = [person_code(p) for p in people]
    assert len(set(codes)) == len(people)
    for p, code in zip(people, codes, strict=True):
        assert code.startswith("JDP1.") and len(code) <= 40
        assert code == code.upper() and set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567890.1")
        assert p.id_number not in code and p.id_number[-6:] not in code
        assert person_code(p) == code  # a reprint is the same card
        assert resolve_person_code(code).pk == p.pk
        assert resolve_person_code(f"  {code.lower()}\n").pk == p.pk  # a scanner with caps lock


@pytest.mark.django_db
def test_the_signature_is_keyed_not_a_plain_hash(people: list[Person]) -> None:
    p = people[0]
    mac = person_code(p).rsplit(".", 1)[1]
    for plain in (str(p.pk), f"person-code:{p.pk}"):
        assert hashlib.sha256(plain.encode()).hexdigest()[:16].upper() != mac


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mangle", "words"),
    [
        (lambda c: c[:-1] + _flip(c[-1]), "does not check out"),  # one character of the signature off
        (lambda c: c[:-3], "damaged"),  # cut short
        (lambda c: c.replace(".", ",", 1), "not a person code"),
        (lambda c: c + "Z", "damaged"),
        (lambda c: "", "empty"),
        (lambda c: "510104198503123510", "not a person code"),
    ],
)
def test_damaged_or_foreign_text_is_refused_clearly(people: list[Person], mangle: Any, words: str) -> None:
    from django.utils import translation

    with translation.override("en"), pytest.raises(InvalidInput) as err:
        resolve_person_code(mangle(person_code(people[0])))
    assert err.value.field == "person_code"
    assert words in err.value.message


@pytest.mark.django_db
def test_a_forged_code_for_another_person_is_refused(people: list[Person]) -> None:
    """Someone who has one card and knows the format swaps in a neighbour's number: the signature
    no longer matches, so it names nobody."""
    a, b = people[0], people[1]
    forged = f"{personcode.PREFIX}{personcode._b32(b.pk)}.{person_code(a).rsplit('.', 1)[1]}"
    with pytest.raises(InvalidInput) as err:
        resolve_person_code(forged)
    assert err.value.field == "person_code"


@pytest.mark.django_db
def test_a_signed_code_for_nobody_is_refused(people: list[Person]) -> None:
    missing = max(p.pk for p in people) + 1000
    code = f"{personcode.PREFIX}{personcode._b32(missing)}.{personcode._mac(missing)}"
    with pytest.raises(InvalidInput) as err:
        resolve_person_code(code)
    assert err.value.field == "person_code"


@pytest.mark.django_db
def test_person_from_item_only_speaks_for_items_with_a_code(people: list[Person]) -> None:
    assert person_from_item({"op": "sample", "id_number": people[0].id_number}) is None
    assert person_from_item({"op": "sample", "person_code": "  "}) is None
    found = person_from_item({"person_code": person_code(people[1])})
    assert found is not None and found.pk == people[1].pk
    with pytest.raises(InvalidInput) as err:
        person_from_item({"person_code": 12345})
    assert err.value.field == "person_code"


# ---- registration with a code ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_code_registers_its_person_and_a_replay_answers_the_same(
    tube: dict[str, Any], people: list[Person]
) -> None:
    p = people[0]
    item = sample(tube, person_code=person_code(p))
    first = do_apply_registrations(actor=tube["sampler"], items=[item])
    answer = first.items[0]
    assert answer["status"] == "created", answer
    assert answer["person"] == p.name and answer["id_masked"] == p.id_masked and answer["members"] == 1
    assert list(Sample.objects.values_list("person_id", flat=True)) == [p.pk]

    again = do_apply_registrations(actor=tube["sampler"], items=[dict(item)])
    assert again.items[0]["status"] == "duplicate"
    assert {k: v for k, v in again.items[0].items() if k != "status"} == {
        k: v for k, v in answer.items() if k != "status"
    }
    assert Sample.objects.count() == 1
    assert Registration.objects.filter(client_key=item["key"]).count() == 1


@pytest.mark.django_db
def test_a_forged_code_is_refused_on_its_field_and_writes_nothing(
    tube: dict[str, Any], people: list[Person]
) -> None:
    good = person_code(people[0])
    forged = good[:-1] + _flip(good[-1])
    item = sample(tube, person_code=forged)
    result = do_apply_registrations(actor=tube["sampler"], items=[item])
    answer = result.items[0]
    assert answer["status"] == "refused" and answer["field"] == "person_code", answer
    assert Sample.objects.count() == 0
    replay = do_apply_registrations(actor=tube["sampler"], items=[dict(item)])
    assert replay.items[0] == answer  # the refusal is stored under the key and answered the same
    assert Sample.objects.count() == 0


@pytest.mark.django_db
def test_a_damaged_code_does_not_hold_up_the_batch(tube: dict[str, Any], people: list[Person]) -> None:
    items = [
        sample(tube, person_code=person_code(people[0])),
        sample(tube, person_code=person_code(people[1])[:-4]),
        sample(tube, id_number=people[2].id_number),
    ]
    result = do_apply_registrations(actor=tube["sampler"], items=items)
    assert [a["status"] for a in result.items] == ["created", "refused", "created"]
    assert result.items[1]["field"] == "person_code"
    assert set(Sample.objects.values_list("person_id", flat=True)) == {people[0].pk, people[2].pk}


@pytest.mark.django_db
def test_the_card_and_the_id_card_are_the_same_person(tube: dict[str, Any], people: list[Person]) -> None:
    """Scanning the card, then the same person's ID card, is caught as sampling them twice."""
    p = people[0]
    result = do_apply_registrations(
        actor=tube["sampler"],
        items=[sample(tube, person_code=person_code(p)), sample(tube, id_number=p.id_number)],
    )
    assert [a["status"] for a in result.items] == ["created", "refused"]
    assert result.items[1]["field"] == "repeat_reason"
    assert Sample.objects.filter(person=p).count() == 1


@pytest.mark.django_db
def test_a_person_without_a_household_has_a_working_code(tube: dict[str, Any], cast: Any) -> None:
    visitor = make_person()
    result = do_apply_registrations(
        actor=tube["sampler"], items=[sample(tube, person_code=person_code(visitor))]
    )
    assert result.items[0]["status"] == "created"
    assert Sample.objects.get().person_id == visitor.pk


def test_a_voided_card_is_refused_and_the_next_card_has_a_new_code(
    people: list[Person], cast: Any, client: Any
) -> None:
    from django.utils import translation

    from jiedao.core.errors import NotFound
    from jiedao.core.models import AuditEntry
    from jiedao.nat.models import VoidedPersonCard

    p, other = people[0], people[1]
    first = person_code(p)
    with pytest.raises(InvalidInput) as err:
        personcode.do_void_person_card(actor=cast["grid_worker_a"], person=p, reason="  ")
    assert err.value.field == "reason"
    outsider = make_household(cast.community_b, cast.grid_b1, members=1).residents.get().person
    with pytest.raises(NotFound):  # not in the grid worker's area
        personcode.do_void_person_card(actor=cast["grid_worker_a"], person=outsider, reason="丢失")
    assert personcode.do_void_person_card(actor=cast["grid_worker_a"], person=p, reason="丢失") == 1
    second = person_code(p)
    assert second != first and resolve_person_code(second) == p
    with translation.override("en"), pytest.raises(InvalidInput) as err:
        resolve_person_code(first)
    assert "void" in err.value.message and err.value.field == "person_code"
    assert resolve_person_code(person_code(other)) == other  # other people's cards are untouched
    # voided again (the second card lost too): both earlier codes are refused, a third works
    assert personcode.do_void_person_card(actor=None, person=p, reason="又丢了") == 2
    for old in (first, second):
        with pytest.raises(InvalidInput):
            resolve_person_code(old)
    assert resolve_person_code(person_code(p)) == p
    assert list(VoidedPersonCard.objects.filter(person=p).values_list("version", "reason")) == [
        (0, "丢失"),
        (1, "又丢了"),
    ]
    assert AuditEntry.objects.filter(action="nat.void_person_card").count() == 2
    # the print uses the card in use, for everyone in one query
    assert personcode.do_print_person_cards(actor=None, persons=[p, other], filters={}) == [
        person_code(p),
        person_code(other),
    ]
    # the page: asks why first, then voids
    client.force_login(cast["grid_worker_a"])
    page = client.get(f"/nat/codes/{other.pk}/void/")
    assert page.status_code == 200 and b'data-testid="void-form"' in page.content
    assert "（第 2 张）" in page.content.decode()  # their first card is voided: the new one is the second
    assert client.post(f"/nat/codes/{other.pk}/void/", {"reason": ""}).status_code == 200
    assert not VoidedPersonCard.objects.filter(person=other).exists()
    assert client.post(f"/nat/codes/{other.pk}/void/", {"reason": "给了别人"}).status_code == 302
    assert VoidedPersonCard.objects.filter(person=other).count() == 1
    assert client.get(f"/nat/codes/{outsider.pk}/void/").status_code == 404
