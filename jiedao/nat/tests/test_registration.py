"""Sample registration: open a tube, sample people into it, close it — each item applied exactly once
by its client key; replays answer the same; a key reused for other content is refused and kept; bad
input is refused per item with its field, and nothing is written for it."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from django.utils import timezone

from jiedao.nat.actions import do_apply_registrations, do_open_round, do_save_site
from jiedao.nat.models import Registration, RegistrationConflict, Sample, Tube
from jiedao.org.actions import do_create_api_key
from jiedao.registry.models import Person, Resident
from jiedao.registry.tests.factories import make_household

_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys):08d}"


@pytest.fixture
def setup(cast: Any) -> dict[str, Any]:
    site = do_save_site(
        actor=None, name="甲社区广场采样点", community=cast.community_a, grid=cast.grid_a1, lanes=4
    )
    site.staff.add(cast["sampler_a"])
    other = do_save_site(actor=None, name="乙社区采样点", community=cast.community_b)
    now = timezone.now()
    rnd = do_open_round(
        actor=None, name="第一轮全员核酸", starts_at=now - dt.timedelta(hours=2), ends_at=now + dt.timedelta(hours=10),
        sites=[site, other],
    )  # fmt: skip
    people = []
    for _ in range(4):
        hh = make_household(cast.community_a, cast.grid_a1, members=3)
        people += [
            r.person for r in Resident.objects.filter(household=hh).select_related("person").order_by("pk")
        ]
    return {"site": site, "other": other, "round": rnd, "people": people, "sampler": cast["sampler_a"]}


def at(minutes_ago: float = 30) -> str:
    return (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()


def open_item(s: dict[str, Any], barcode: str = "TUBE000001", capacity: int = 10) -> dict[str, Any]:
    return {"key": key("open"), "op": "open_tube", "barcode": barcode, "capacity": capacity,
            "round": s["round"].pk, "site": s["site"].pk, "at": at(60)}  # fmt: skip


def sample_item(person: Person, barcode: str = "TUBE000001", **extra: Any) -> dict[str, Any]:
    return {
        "key": key("s"),
        "op": "sample",
        "barcode": barcode,
        "id_number": person.id_number,
        "at": at(),
        **extra,
    }


def close_item(barcode: str = "TUBE000001") -> dict[str, Any]:
    return {"key": key("close"), "op": "close_tube", "barcode": barcode, "at": at(10)}


def test_a_ten_in_one_tube_refuses_the_eleventh(setup: dict[str, Any]) -> None:
    s = setup
    items = [open_item(s), *(sample_item(p) for p in s["people"][:11]), close_item()]
    result = do_apply_registrations(actor=s["sampler"], items=items)
    statuses = [a["status"] for a in result.items]
    assert statuses == ["created"] * 11 + ["refused", "created"]
    eleventh = result.items[11]
    assert eleventh["field"] == "barcode" and "10" in eleventh["message"]
    tube = Tube.objects.get(barcode="TUBE000001")
    assert tube.members == 10 and tube.status == "closed" and tube.samples.count() == 10
    assert result.items[10]["members"] == 10 and result.items[1]["id_masked"] == s["people"][0].id_masked
    assert not Sample.objects.filter(person=s["people"][10]).exists()
    assert dict(result.counts) == {"created": 12, "refused": 1}


def test_a_replayed_batch_changes_nothing_and_answers_the_same(setup: dict[str, Any]) -> None:
    s = setup
    items = [open_item(s), *(sample_item(p) for p in s["people"][:5]), close_item()]
    first = do_apply_registrations(actor=s["sampler"], items=items)
    again = do_apply_registrations(actor=s["sampler"], items=items)
    assert [a["status"] for a in again.items] == ["duplicate"] * 7
    assert [{k: v for k, v in a.items() if k != "status"} for a in again.items] == [
        {k: v for k, v in a.items() if k != "status"} for a in first.items
    ]
    assert Sample.objects.count() == 5 and Registration.objects.count() == 7
    assert Tube.objects.get().members == 5


def test_a_key_reused_for_other_content_is_refused_and_kept(setup: dict[str, Any]) -> None:
    s = setup
    do_apply_registrations(actor=s["sampler"], items=[open_item(s)])
    item = sample_item(s["people"][0])
    do_apply_registrations(actor=s["sampler"], items=[item])
    other = {**item, "id_number": s["people"][1].id_number}
    answer = do_apply_registrations(actor=s["sampler"], items=[other]).items[0]
    assert answer["status"] == "conflict" and answer["field"] == "key"
    conflict = RegistrationConflict.objects.get()
    assert json.loads(conflict.payload)["id_number"] == s["people"][1].id_number  # kept, encrypted at rest
    assert list(Sample.objects.values_list("person", flat=True)) == [s["people"][0].pk]


def test_a_person_sampled_twice_needs_a_reason(setup: dict[str, Any]) -> None:
    s = setup
    p = s["people"][0]
    do_apply_registrations(
        actor=s["sampler"], items=[open_item(s), sample_item(p), close_item(), open_item(s, "TUBE000002", 1)]
    )
    refused = do_apply_registrations(actor=s["sampler"], items=[sample_item(p, "TUBE000002")]).items[0]
    assert (
        refused["status"] == "refused"
        and refused["field"] == "repeat_reason"
        and "TUBE000001" in refused["message"]
    )
    ok = do_apply_registrations(
        actor=s["sampler"], items=[sample_item(p, "TUBE000002", repeat_reason="首管破损")]
    ).items[0]
    assert ok["status"] == "created" and "首管破损" in ok["warning"]
    assert Sample.objects.filter(person=p).count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_number": "510104198503123511"}, "id_number"),  # wrong check digit
        ({"id_number": "5.10116E+17"}, "id_number"),  # Excel's damage
        ({"barcode": "NOSUCHTUBE"}, "barcode"),
        ({"barcode": "x"}, "barcode"),
        ({"at": "2026-11-29 10:00"}, "at"),  # no offset
        ({"at": (timezone.now() + dt.timedelta(hours=1)).isoformat()}, "at"),  # the future
        ({"at": (timezone.now() - dt.timedelta(days=2)).isoformat()}, "at"),  # before the round (and tube)
    ],
)
def test_bad_items_are_refused_with_their_field(
    setup: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    s = setup
    do_apply_registrations(actor=s["sampler"], items=[open_item(s)])
    item = {**sample_item(s["people"][0]), **change}
    answer = do_apply_registrations(actor=s["sampler"], items=[item]).items[0]
    assert answer["status"] == "refused" and answer["field"] == field, answer
    assert not Sample.objects.exists()
    # the refusal is the key's answer: a replay gets it again, and writes nothing
    assert do_apply_registrations(actor=s["sampler"], items=[item]).items[0] == answer


def test_tube_rules(setup: dict[str, Any]) -> None:
    s = setup
    answers = do_apply_registrations(
        actor=s["sampler"],
        items=[
            open_item(s, capacity=11),  # not a pool size
            open_item(s, barcode="TUBE000009", capacity=5),
            open_item(s, barcode="TUBE000009", capacity=5),  # the same barcode under another key
            close_item("TUBE000009"),  # empty
            sample_item(s["people"][0], "TUBE000009"),
            close_item("TUBE000009"),
            close_item("TUBE000009"),  # already closed
            sample_item(s["people"][1], "TUBE000009"),  # closed
        ],
    ).items
    assert [(a["status"], a.get("field")) for a in answers] == [
        ("refused", "capacity"), ("created", None), ("refused", "barcode"), ("refused", "barcode"),
        ("created", None), ("created", None), ("refused", "barcode"), ("refused", "barcode"),
    ]  # fmt: skip


def test_someone_not_on_the_register_is_added_with_their_name(setup: dict[str, Any]) -> None:
    s = setup
    do_apply_registrations(actor=s["sampler"], items=[open_item(s)])
    visitor = "440305199208150624"
    nameless = {"key": key(), "op": "sample", "barcode": "TUBE000001", "id_number": visitor, "at": at()}
    assert do_apply_registrations(actor=s["sampler"], items=[nameless]).items[0]["field"] == "name"
    named = {**nameless, "key": key(), "name": "周来宾"}
    assert do_apply_registrations(actor=s["sampler"], items=[named]).items[0]["status"] == "created"
    person = Person.objects.get(name="周来宾")
    assert person.id_number == visitor and not Resident.objects.filter(person=person).exists()


def test_only_the_sites_staff_register_there(setup: dict[str, Any], cast: Any) -> None:
    s = setup
    item = {**open_item(s), "site": s["other"].pk}  # community B's site
    answer = do_apply_registrations(actor=s["sampler"], items=[item]).items[0]
    assert answer["status"] == "forbidden" and not Registration.objects.exists()
    ok = do_apply_registrations(actor=cast["community_staff_b"], items=[item]).items[0]
    assert ok["status"] == "created"


def test_malformed_items_and_batches(setup: dict[str, Any]) -> None:
    s = setup
    answers = do_apply_registrations(
        actor=s["sampler"], items=["not an object", {"op": "sample"}, {"key": key(), "op": "dance"}]
    ).items
    assert [(a["status"], a["field"]) for a in answers] == [
        ("refused", "item"),
        ("refused", "key"),
        ("refused", "op"),
    ]
    from jiedao.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        do_apply_registrations(actor=s["sampler"], items=[])
    with pytest.raises(InvalidInput):
        do_apply_registrations(actor=s["sampler"], items=[open_item(s)] * 501)


# ---- the API ---------------------------------------------------------------------------------------


def test_single_item_api_statuses(setup: dict[str, Any], client: Any) -> None:
    s = setup
    client.force_login(s["sampler"])
    post = lambda body: client.post("/api/v1/nat/registration", body, content_type="application/json")  # noqa: E731
    opened = open_item(s)
    assert post(opened).status_code == 201
    assert post(opened).status_code == 200  # a replay
    assert post({**opened, "capacity": 5}).status_code == 409
    bad = post({**sample_item(s["people"][0]), "id_number": "123"})
    assert bad.status_code == 422 and bad.json()["field"] == "id_number"


def test_batch_api_and_api_keys(setup: dict[str, Any], client: Any) -> None:
    s = setup
    _, without = do_create_api_key(actor=None, name="无权限", user=s["sampler"], permissions=["places.read"])
    _, with_ = do_create_api_key(actor=None, name="采样终端", user=s["sampler"], permissions=["nat.register"])
    body = {"items": [open_item(s), sample_item(s["people"][0])]}
    url = "/api/v1/nat/registrations"
    assert client.post(url, body, content_type="application/json", HTTP_X_API_KEY=without).status_code == 403
    resp = client.post(url, body, content_type="application/json", HTTP_X_API_KEY=with_)
    assert resp.status_code == 200 and resp.json()["counts"] == {"created": 2}
    assert client.post(url, body, content_type="application/json").status_code == 401


def test_public_site_list_has_no_personal_data(setup: dict[str, Any], client: Any) -> None:
    s = setup
    resp = client.get("/api/v1/nat/sites")
    assert resp.status_code == 200
    names = {row["name"] for row in resp.json()}
    assert names == {s["site"].name, s["other"].name}
    assert set(resp.json()[0]) == {
        "id", "name", "address", "community", "lat", "lng", "hours", "lanes", "status", "queue_length",
        "queue_updated_at",
    }  # fmt: skip
