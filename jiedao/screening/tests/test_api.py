"""The screening API: lists and entries pushed exactly once by their keys, bad batches refused whole
with every problem named, permissions of keys and roles, the per-list feedback, and key persons read
only within the caller's area."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, get_args

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from jiedao.config.wsgi import application
from jiedao.core.testing import assert_no_per_row_queries
from jiedao.org.actions import do_create_service_key
from jiedao.org.choices import Role, UnitLevel
from jiedao.registry.models import Person, Resident
from jiedao.registry.tests.factories import make_household, mobile, resident_id
from jiedao.screening import actions
from jiedao.screening.choices import KeyPersonStatus, Outcome, Source
from jiedao.screening.filters import KEY_PERSON_SORTS
from jiedao.screening.models import KeyPerson, PushedEntry, PushedList
from jiedao.screening.schemas import KEY_PERSON_SORT, KEY_PERSON_SOURCE, KEY_PERSON_STATUS, SOURCE
from jiedao.screening.tests.access import api_list, key_person_a1
from jiedao.work.models import WorkItem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

LISTS = "/api/v1/screening/lists"
KEY_PERSONS = "/api/v1/screening/key-persons"
LIST_BODY = {
    "key": "L-2022-06-01",
    "title": "密接名单 6月1日",
    "issuer": "市疫情防控指挥部",
    "source": "close_contact",
}


class Api:
    """A client that sends JSON, signed in by an API key or a session."""

    def __init__(self, client: Client, key: str | None = None) -> None:
        self.client = client
        client.cookies["django_language"] = "en"
        self.headers = {"X-API-Key": key} if key else {}

    def post(self, url: str, body: Any) -> Any:
        return self.client.post(url, body, content_type="application/json", headers=self.headers)

    def get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(url, params or {}, headers=self.headers)


def key_api(
    cast: Any, permissions: tuple[str, ...] = ("screening.push", "screening.read"), **grant: Any
) -> Api:
    grant = grant or {"role": Role.COMMAND, "level": UnitLevel.SUBDISTRICT, "subdistrict": cast.subdistrict}
    _key, raw = do_create_service_key(
        actor=cast["command"], name="市平台", permissions=list(permissions), **grant
    )
    return Api(Client(), raw)


def session_api(cast: Any, member: str) -> Api:
    client = Client()
    client.force_login(cast[member])
    return Api(client)


def resident_a1(cast: Any) -> Person:
    hh = make_household(cast.community_a, grid=cast.grid_a1, members=1)
    return Resident.objects.filter(household=hh).select_related("person").get().person


def open_list(api: Api, **body: Any) -> int:
    resp = api.post(LISTS, {**LIST_BODY, **body})
    assert resp.status_code in (200, 201), resp.content
    return int(resp.json()["id"])


def written() -> dict[str, int]:
    return {
        "lists": PushedList.objects.count(),
        "entries": PushedEntry.objects.count(),
        "key_persons": KeyPerson.objects.count(),
        "work_items": WorkItem.objects.count(),
        "persons": Person.objects.count(),
    }


def bad_checksum(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


# ---- lists --------------------------------------------------------------------------------------


def test_opening_a_list_is_idempotent_by_key(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(cast)
    first = api.post(LISTS, LIST_BODY)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["key"] == LIST_BODY["key"] and body["title"] == LIST_BODY["title"]
    assert body["source"] == "close_contact" and body["category"] == "close_contact"  # from the source
    assert body["protocol_key"] and body["rows"] == 0 and body["counts"]["received"] == 0
    before = written()
    again = api.post(LISTS, LIST_BODY)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert written() == before
    other = api.post(LISTS, {**LIST_BODY, "title": "另一份名单"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict" and other.json()["error"]["field"] == "key"
    assert written() == before
    assert PushedList.objects.get(pk=body["id"]).title == LIST_BODY["title"]


def test_list_details_are_checked_by_field(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(cast)
    cases = {
        "source": {"source": "rumour"},
        "category": {"category": "外星来客"},
        "title": {"title": "  "},
        "key": {"key": ""},
        "received_at": {"received_at": (timezone.now() + dt.timedelta(days=2)).isoformat()},
    }
    for field, change in cases.items():
        resp = api.post(LISTS, {**LIST_BODY, **change})
        assert resp.status_code == 422, (field, resp.content)
        assert resp.json()["error"]["field"] == field, (field, resp.json())
    nul = api.post(LISTS, {**LIST_BODY, "title": "名\x00单"})
    assert nul.status_code == 422 and nul.json()["error"]["field"] == "title"
    assert PushedList.objects.count() == 0


def test_implausible_receipt_dates_are_refused_by_the_schema(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(cast)
    for when in ("0001-01-01T00:00:00+14:00", "2018-12-31T23:00:00+00:00", "9999-12-31T23:59:59-12:00"):
        resp = api.post(LISTS, {**LIST_BODY, "received_at": when})
        assert resp.status_code == 422 and resp.json()["error"]["field"] == "received_at", (
            when,
            resp.content,
        )
    assert PushedList.objects.count() == 0


def test_a_list_received_before_any_protocol_is_refused_on_received_at(cast) -> None:  # type: ignore[no-untyped-def]
    resp = key_api(cast).post(LISTS, {**LIST_BODY, "received_at": "2020-02-01T10:00:00+08:00"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "received_at", resp.content


def test_a_category_alias_names_the_lists_default_category(cast) -> None:  # type: ignore[no-untyped-def]
    resp = key_api(cast).post(LISTS, {**LIST_BODY, "source": "other", "category": "密接"})
    assert resp.status_code == 201 and resp.json()["category"] == "close_contact"


# ---- entries ------------------------------------------------------------------------------------


def test_pushing_entries_creates_once_and_the_same_batch_again_changes_nothing(cast) -> None:  # type: ignore[no-untyped-def]
    resident = resident_a1(cast)
    api = key_api(cast)
    list_id = open_list(api)
    batch = {
        "entries": [
            {"key": "E-1", "name": resident.name, "id_number": resident.id_number},
            {"key": "E-2", "name": "钱七", "id_number": resident_id(), "phone": mobile(), "origin": "上海市"},
            {"key": "E-3", "name": "孙八", "phone": mobile(), "arrived_at": "2022-05-30 14:00"},
        ]
    }
    before = written()
    resp = api.post(f"{LISTS}/{list_id}/entries", batch)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["created"] == 3 and body["duplicates"] == 0
    assert [(e["key"], e["status"]) for e in body["entries"]] == [
        ("E-1", "created"), ("E-2", "created"), ("E-3", "created"),
    ]  # fmt: skip
    after = written()
    assert after["entries"] - before["entries"] == 3
    assert after["key_persons"] - before["key_persons"] == 3
    assert after["persons"] - before["persons"] == 2  # the resident was found on the register
    assert after["work_items"] - before["work_items"] == 1  # only the resident could be routed
    kp = KeyPerson.objects.get(pk=body["entries"][0]["key_person_id"])
    assert kp.person_id == resident.pk and (kp.community_id, kp.grid_id) == (
        cast.community_a.pk,
        cast.grid_a1.pk,
    )
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.work_item is not None

    again = api.post(f"{LISTS}/{list_id}/entries", batch)
    assert again.status_code == 200, again.content
    assert again.json()["created"] == 0 and again.json()["duplicates"] == 3
    assert [(e["key"], e["status"], e["key_person_id"]) for e in again.json()["entries"]] == [
        (e["key"], "duplicate", e["key_person_id"]) for e in body["entries"]
    ]
    assert written() == after

    counts = api.get(f"{LISTS}/{list_id}").json()
    assert counts["rows"] == 3
    assert counts["counts"]["received"] == 3 and counts["counts"]["matched"] == 1
    assert counts["counts"]["routed"] == 1 and counts["counts"]["dispatch"] == 2
    assert counts["intake"]["matched_id"] == 1 and counts["intake"]["new_persons"] == 2


def test_the_same_key_with_other_content_is_a_conflict_and_writes_nothing(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(cast)
    list_id = open_list(api)
    first = {"key": "E-1", "name": "钱七", "id_number": resident_id()}
    assert api.post(f"{LISTS}/{list_id}/entries", {"entries": [first]}).status_code == 201
    before = written()
    resp = api.post(
        f"{LISTS}/{list_id}/entries",
        {"entries": [{"key": "E-9", "name": "周九", "phone": mobile()}, {**first, "name": "钱八"}]},
    )
    assert resp.status_code == 409, resp.content
    error = resp.json()["error"]
    assert error["code"] == "conflict" and error["details"] == [{"key": "E-1"}]
    assert written() == before
    assert not PushedEntry.objects.filter(client_key="E-9").exists()
    assert PushedEntry.objects.get(client_key="E-1").name == "钱七"


def test_a_batch_with_one_bad_id_is_refused_whole_naming_the_entry_and_field(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(cast)
    list_id = open_list(api)
    before = written()
    resp = api.post(
        f"{LISTS}/{list_id}/entries",
        {
            "entries": [
                {"key": "E-1", "name": "钱七", "id_number": resident_id()},
                {"key": "E-2", "name": "孙八", "id_number": bad_checksum(resident_id())},
                {"key": "E-3", "name": "周九", "phone": mobile()},
            ]
        },
    )
    assert resp.status_code == 422, resp.content
    error = resp.json()["error"]
    assert error["code"] == "invalid" and error["field"] == "entries"
    assert [(d["entry"], d["field"]) for d in error["details"]] == [(2, "id_number")]
    assert "check digit" in error["details"][0]["message"]
    assert written() == before


def test_every_problem_of_a_batch_is_listed(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(cast)
    list_id = open_list(api)
    resp = api.post(
        f"{LISTS}/{list_id}/entries",
        {
            "entries": [
                {"key": "E-1", "name": "", "phone": mobile()},
                {"key": "E-2", "name": "孙八"},
                {"key": "E-1", "name": "周九", "phone": "12345", "category": "外星来客"},
                {"key": "E-4", "name": "吴十", "phone": mobile(), "arrived_at": "昨天"},
            ]
        },
    )
    assert resp.status_code == 422
    problems = {(d["entry"], d["field"]) for d in resp.json()["error"]["details"]}
    assert problems == {
        (1, "name"), (2, "id_number"), (3, "key"), (3, "phone"), (3, "category"), (4, "arrived_at"),
    }  # fmt: skip
    assert PushedEntry.objects.count() == 0


def test_a_batch_over_1000_entries_is_refused(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(cast)
    list_id = open_list(api)
    before = written()
    entries = [
        {"key": f"E-{i}", "name": "钱七", "phone": mobile()} for i in range(actions.MAX_API_ENTRIES + 1)
    ]
    resp = api.post(f"{LISTS}/{list_id}/entries", {"entries": entries})
    assert resp.status_code == 422, resp.content[:300]
    assert resp.json()["error"]["field"] == "entries"
    assert written() == before
    empty = api.post(f"{LISTS}/{list_id}/entries", {"entries": []})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "entries"


def test_entries_go_only_to_the_senders_own_list(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(cast)
    other = api_list(cast)  # opened by the command centre's own session account
    resp = api.post(
        f"{LISTS}/{other.pk}/entries", {"entries": [{"key": "E-1", "name": "钱七", "phone": mobile()}]}
    )
    assert resp.status_code == 404
    assert (
        api.post(f"{LISTS}/999999/entries", {"entries": [{"key": "E-1", "name": "钱七"}]}).status_code == 404
    )
    assert PushedEntry.objects.count() == 0


# ---- who may push and read ----------------------------------------------------------------------


def test_an_api_key_needs_screening_push_to_push_and_screening_read_to_read(cast) -> None:  # type: ignore[no-untyped-def]
    reader = key_api(cast, ("screening.read",))
    pusher = key_api(cast, ("screening.push",))
    refused = reader.post(LISTS, LIST_BODY)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert "screening.push" in refused.json()["error"]["message"]
    assert PushedList.objects.count() == 0
    opened = pusher.post(LISTS, LIST_BODY)
    assert opened.status_code == 201
    list_id = opened.json()["id"]
    entry = {"entries": [{"key": "E-1", "name": "钱七", "phone": mobile()}]}
    assert reader.post(f"{LISTS}/{list_id}/entries", entry).status_code == 403
    assert PushedEntry.objects.count() == 0
    assert pusher.post(f"{LISTS}/{list_id}/entries", entry).status_code == 201
    assert pusher.get(f"{LISTS}/{list_id}").status_code == 403
    assert pusher.get(KEY_PERSONS).status_code == 403
    assert reader.get(f"{LISTS}/{list_id}").status_code == 200
    assert reader.get(KEY_PERSONS).json()["count"] == 1


def test_a_key_whose_role_is_not_the_command_centre_cannot_push(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(
        cast, ("*",), role=Role.COMMUNITY_STAFF, level=UnitLevel.COMMUNITY, community=cast.community_a
    )
    assert api.post(LISTS, LIST_BODY).status_code == 403
    assert PushedList.objects.count() == 0


def test_a_grid_worker_session_cannot_push(cast) -> None:  # type: ignore[no-untyped-def]
    plist = api_list(cast)
    before = written()
    for member in ("grid_worker_a", "community_staff_a", "auditor"):
        api = session_api(cast, member)
        assert api.post(LISTS, LIST_BODY).status_code == 403, member
        resp = api.post(
            f"{LISTS}/{plist.pk}/entries", {"entries": [{"key": "E-1", "name": "钱七", "phone": mobile()}]}
        )
        assert resp.status_code == 403, member
    assert written() == before
    command = session_api(cast, "command")
    assert (
        command.post(
            f"{LISTS}/{plist.pk}/entries", {"entries": [{"key": "E-1", "name": "钱七", "phone": mobile()}]}
        ).status_code
        == 201
    )


def test_anonymous_calls_are_401(cast) -> None:  # type: ignore[no-untyped-def]
    anon = Api(Client())
    assert anon.post(LISTS, LIST_BODY).status_code == 401
    assert anon.get(KEY_PERSONS).status_code == 401
    assert Api(Client(), "jd_not-a-key").get(KEY_PERSONS).status_code == 401


def test_lists_are_read_by_the_command_centre_and_auditors_only(cast) -> None:  # type: ignore[no-untyped-def]
    kp = key_person_a1(cast)
    list_id = kp.entries.get().pushed_list_id
    for member in ("command", "auditor"):
        api = session_api(cast, member)
        assert api.get(f"{LISTS}/{list_id}").status_code == 200, member
        assert api.get(f"{LISTS}/{list_id}/results").status_code == 200, member
    for member in ("community_staff_a", "grid_worker_a", "community_staff_b"):
        api = session_api(cast, member)
        assert api.get(f"{LISTS}/{list_id}").status_code == 404, member
        assert api.get(f"{LISTS}/{list_id}/results").status_code == 404, member


# ---- key persons --------------------------------------------------------------------------------


def test_community_b_cannot_see_a_key_person_of_community_a(cast) -> None:  # type: ignore[no-untyped-def]
    kp = key_person_a1(cast)
    url = f"{KEY_PERSONS}/{kp.pk}"
    seen = session_api(cast, "community_staff_a").get(url)
    assert seen.status_code == 200
    body = seen.json()
    assert body["name"] == kp.person.name and body["community"]["id"] == cast.community_a.pk
    assert body["id_masked"] == kp.person.id_masked and kp.person.id_number not in seen.content.decode()
    assert [(s["list_title"], s["row"], s["category"]) for s in body["sources"]] == [
        ("协查名单", 1, "close_contact")
    ]
    for member in ("community_staff_b", "grid_worker_b", "grid_worker_a2"):
        api = session_api(cast, member)
        assert api.get(url).status_code == 404, member
        assert kp.pk not in [r["id"] for r in api.get(KEY_PERSONS).json()["results"]], member
    assert [r["id"] for r in session_api(cast, "grid_worker_a").get(KEY_PERSONS).json()["results"]] == [kp.pk]
    assert session_api(cast, "volunteer_a").get(KEY_PERSONS).status_code == 403


def test_a_key_person_named_by_two_lists_shows_both_sources(cast) -> None:  # type: ignore[no-untyped-def]
    resident = resident_a1(cast)
    api = key_api(cast)
    first = open_list(api, key="L-1", title="黄码名单", source="yellow_code")
    second = open_list(api, key="L-2", title="密接名单")
    a = api.post(
        f"{LISTS}/{first}/entries",
        {"entries": [{"key": "R-1", "name": resident.name, "id_number": resident.id_number}]},
    )
    b = api.post(
        f"{LISTS}/{second}/entries",
        {"entries": [{"key": "C-1", "name": resident.name, "phone": "", "id_number": resident.id_number}]},
    )
    kp_id = a.json()["entries"][0]["key_person_id"]
    assert b.json()["entries"][0]["key_person_id"] == kp_id
    detail = api.get(f"{KEY_PERSONS}/{kp_id}").json()
    assert [(s["list_id"], s["source"]) for s in detail["sources"]] == [
        (first, "yellow_code"),
        (second, "close_contact"),
    ]
    assert detail["category"] == "close_contact"  # the more urgent category wins while open


def test_key_person_filters(cast) -> None:  # type: ignore[no-untyped-def]
    resident = resident_a1(cast)
    api = key_api(cast)
    list_id = open_list(api)
    other_list = open_list(api, key="L-red", title="红码名单", source="red_code")
    api.post(f"{LISTS}/{list_id}/entries", {"entries": [
        {"key": "E-1", "name": resident.name, "id_number": resident.id_number},
        {"key": "E-2", "name": "钱七", "phone": mobile()},
    ]})  # fmt: skip
    api.post(
        f"{LISTS}/{other_list}/entries", {"entries": [{"key": "R-1", "name": "孙八", "phone": mobile()}]}
    )
    routed = KeyPerson.objects.get(person=resident)
    KeyPerson.objects.filter(person__name="钱七").update(due_at=timezone.now() - dt.timedelta(hours=1))

    def names(**params: Any) -> set[str]:
        resp = api.get(KEY_PERSONS, params)
        assert resp.status_code == 200, (params, resp.content)
        return {r["name"] for r in resp.json()["results"]}

    assert names() == {resident.name, "钱七", "孙八"}
    assert names(status="to_verify") == {resident.name}
    assert names(status="dispatch") == {"钱七", "孙八"}
    assert names(status="open") == {resident.name, "钱七", "孙八"}
    assert names(status="verified") == set()
    assert names(community=cast.community_a.pk) == {resident.name}
    assert names(community=cast.community_b.pk) == set()
    assert names(overdue="true") == {"钱七"}
    assert names(list=other_list) == {"孙八"}
    assert names(category="red_code") == {"孙八"}
    assert names(q="钱") == {"钱七"}
    assert names(q=resident.id_number) == {resident.name}
    page = api.get(KEY_PERSONS, {"per_page": 2, "page": 2, "sort": "name"}).json()
    assert (page["count"], page["pages"], page["per_page"], len(page["results"])) == (3, 2, 2, 1)
    overdue = api.get(KEY_PERSONS, {"overdue": "true"}).json()["results"][0]
    assert overdue["overdue"] is True and overdue["community"] is None
    assert routed.pk in [r["id"] for r in api.get(KEY_PERSONS, {"grid": cast.grid_a1.pk}).json()["results"]]
    for bad in ({"status": "lost"}, {"per_page": 101}, {"community": 2**64}, {"q": "x\x00"}, {"sort": "id"}):
        resp = api.get(KEY_PERSONS, bad)
        assert resp.status_code == 422, (bad, resp.content)
        assert resp.json()["error"]["field"] == next(iter(bad)), (bad, resp.json())


def test_the_literals_of_the_openapi_document_are_the_choices() -> None:
    assert set(get_args(KEY_PERSON_STATUS)) == {"", "open", "verified", *KeyPersonStatus.values}
    assert set(get_args(SOURCE)) == set(Source.values)
    assert set(get_args(KEY_PERSON_SOURCE)) == {"", *Source.values}
    assert {s.lstrip("-") for s in get_args(KEY_PERSON_SORT)} == set(KEY_PERSON_SORTS)


def test_results_feed_back_what_became_of_each_entry(cast) -> None:  # type: ignore[no-untyped-def]
    handed, verified = resident_a1(cast), resident_a1(cast)
    api = key_api(cast)
    list_id = open_list(api)
    pushed = api.post(f"{LISTS}/{list_id}/entries", {"entries": [
        {"key": "E-1", "name": handed.name, "id_number": handed.id_number},
        {"key": "E-2", "name": verified.name, "id_number": verified.id_number},
        {"key": "E-3", "name": "钱七", "phone": mobile()},
    ]}).json()  # fmt: skip
    kp_handed, kp_verified = (KeyPerson.objects.get(pk=e["key_person_id"]) for e in pushed["entries"][:2])
    actions.do_hand_back_key_person(actor=cast["community_staff_a"], kp=kp_handed, reason="不在本社区居住")
    exposed = timezone.localdate() - dt.timedelta(days=1)
    actions.do_verify_key_person(
        actor=cast["grid_worker_a"], kp=kp_verified, outcome=Outcome.REACHED_IN_AREA, category="close_contact",
        last_exposure=exposed,
    )  # fmt: skip

    resp = api.get(f"{LISTS}/{list_id}/results")
    assert resp.status_code == 200
    rows = {r["key"]: r for r in resp.json()["results"]}
    assert [r["row"] for r in resp.json()["results"]] == [1, 2, 3]
    assert rows["E-1"]["status"] == KeyPersonStatus.DISPATCH and rows["E-1"]["community"] is None
    assert [(b["community"], b["reason"]) for b in rows["E-1"]["handed_back"]] == [
        ("甲社区", "不在本社区居住")
    ]
    done = rows["E-2"]
    assert done["status"] == KeyPersonStatus.CLASSIFIED and done["outcome"] == Outcome.REACHED_IN_AREA
    assert (
        done["classified_category"] == "close_contact"
        and done["measure_start"] == (exposed + dt.timedelta(days=1)).isoformat()
    )
    assert (
        done["measure_end"] is not None
        and done["community"]["name"] == "甲社区"
        and done["grid"]["name"] == "甲一网格"
    )
    assert done["match"] == "id" and done["id_masked"] and verified.id_number not in resp.content.decode()
    assert rows["E-3"]["match"] == "new" and rows["E-3"]["status"] == KeyPersonStatus.DISPATCH
    counts = api.get(f"{LISTS}/{list_id}").json()["counts"]
    assert (counts["verified"], counts["classified"], counts["handed_back"], counts["dispatch"]) == (
        1,
        1,
        1,
        2,
    )


def test_list_endpoints_do_not_query_per_row(cast) -> None:  # type: ignore[no-untyped-def]
    api = key_api(cast)
    list_id = open_list(api)
    seq = iter(range(10_000))

    def add(n: int) -> None:
        entries = []
        for _i in range(n):
            person = resident_a1(cast)
            entries.append({"key": f"E-{next(seq)}", "name": person.name, "id_number": person.id_number})
        kps = api.post(f"{LISTS}/{list_id}/entries", {"entries": entries}).json()["entries"]
        kp = KeyPerson.objects.get(pk=kps[0]["key_person_id"])
        actions.do_hand_back_key_person(actor=cast["community_staff_a"], kp=kp, reason="不是本社区")

    add(2)
    assert_no_per_row_queries(lambda: api.get(f"{LISTS}/{list_id}/results", {"per_page": 100}), add)
    assert_no_per_row_queries(lambda: api.get(KEY_PERSONS, {"per_page": 100}), add)


# ---- fuzzing with a key that may push -----------------------------------------------------------


@contextmanager
def direct_wsgi_calls() -> Iterator[None]:
    """As in core/tests/test_api_fuzz.py: a request to the WSGI app itself fires request_finished, whose
    handler would close the test's connection (PostgreSQL). Django's test client reconnects the handler
    after each of its requests, so this wraps only the calls made directly."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_screening_api_never_answers_500_to_a_key_that_may_push(cast) -> None:  # type: ignore[no-untyped-def]
    """The project-wide fuzz test uses a grid worker's key, which is refused before any body is read;
    this one pushes as the command centre, into a real list, so the intake sees what the fuzzer sends."""
    api = key_api(cast)
    resident = resident_a1(cast)
    list_id = open_list(api)
    api.post(
        f"{LISTS}/{list_id}/entries",
        {"entries": [{"key": "E-0", "name": resident.name, "id_number": resident.id_number}]},
    )
    with direct_wsgi_calls():
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
        fuzz(schema.include(path_regex="/screening/"), dict(api.headers), list_id)


def fuzz(schema: Any, headers: dict[str, str], list_id: int) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6, [op.label for op in operations]
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            if "list_id" in (case.path_parameters or {}):
                case.path_parameters["list_id"] = list_id
            response = case.call(headers=headers)
            case.validate_response(response, checks=(not_a_server_error,))
            seen.setdefault(case.operation.label, set()).add(response.status_code)
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body

        run()
    assert set(seen) == {op.label for op in operations}
    # The fuzzer got through to the intake, not only to the checks in front of it.
    assert seen["POST /api/v1/screening/lists"] & {200, 201}, seen


def test_any_batch_is_applied_whole_or_not_at_all(cast) -> None:  # type: ignore[no-untyped-def]
    """Batches mixing good, bad, repeated and conflicting entries: a refused batch writes nothing; an
    accepted one accounts for every entry, and each key names exactly one stored entry."""
    api = key_api(cast)
    resident = resident_a1(cast)
    list_id = open_list(api)
    url = f"{LISTS}/{list_id}/entries"
    ids = [resident.id_number, *(resident_id() for _i in range(3))]
    phones = [mobile() for _i in range(3)]
    good = st.fixed_dictionaries(
        {
            "key": st.sampled_from([f"K{i}" for i in range(12)]),
            "name": st.sampled_from([resident.name, "钱七", "孙八"]),
            "id_number": st.sampled_from(ids),
            "phone": st.sampled_from(["", *phones]),
            "category": st.sampled_from(["", "密接", "red_code", "companion"]),
            "arrived_at": st.sampled_from([None, "2022-05-30", "2022年5月30日 14时"]),
            "address": st.sampled_from(["", "测试花园1栋", "某路1号"]),
        }
    )
    garbage = {
        "name": st.text(max_size=4), "id_number": st.text(max_size=19) | st.just(bad_checksum(ids[1])),
        "phone": st.text(max_size=12), "category": st.text(max_size=6), "arrived_at": st.text(max_size=10),
        "address": st.text(max_size=30),
    }  # fmt: skip
    bad = st.tuples(
        good, st.sampled_from(sorted(garbage)).flatmap(lambda k: st.tuples(st.just(k), garbage[k]))
    )
    entry = st.one_of(good, good, good, bad.map(lambda t: {**t[0], t[1][0]: t[1][1]}))

    @given(batch=st.lists(entry, min_size=1, max_size=3))
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(batch: list[dict[str, Any]]) -> None:
        before = written()
        resp = api.post(url, {"entries": batch})
        assert resp.status_code in (200, 201, 409, 422), resp.content
        if resp.status_code >= 400:
            assert written() == before, resp.json()
            return
        body = resp.json()
        assert body["created"] + body["duplicates"] == len(batch)
        assert written()["entries"] - before["entries"] == body["created"]
        assert (resp.status_code == 201) == (body["created"] > 0)
        for out in body["entries"]:
            stored = PushedEntry.objects.get(pushed_list_id=list_id, client_key=out["key"])
            assert stored.key_person_id == out["key_person_id"]

    run()
