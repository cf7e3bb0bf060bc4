"""Venue check-ins: the action's rules (ID validation, replay, the 5-minute window, inactive venues,
audit) and the public page a venue's QR code opens (form, confirmation, CSRF, the remembered visitor's
one-tap check-in, no one else's data, a fixed number of queries)."""

from __future__ import annotations

import datetime as dt
import json
import re
from http.cookies import SimpleCookie

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from jiedao.core.errors import Conflict, InvalidInput
from jiedao.core.identity import id_check_char
from jiedao.core.models import AuditEntry
from jiedao.core.testing import count_queries
from jiedao.places import actions, views
from jiedao.places.models import VenueCheckin
from jiedao.places.tests.access import make_place
from jiedao.registry.choices import IdType
from jiedao.registry.identity import apply_identity, id_lookup_key
from jiedao.registry.models import Person

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2022, 6, 5, 2, 30, tzinfo=dt.UTC)  # 10:30 in Chengdu


def rid(body: str = "51011619800101123") -> str:
    """A resident ID with a correct GB 11643 check character."""
    return body + id_check_char(body)


ZHANG = rid("51011619800101123")
LI = rid("51011619920315456")
KEY = "k" * 20


def _check_in(place, *, key: str = KEY, id_number: str = ZHANG, name: str = "张三", now=T0, **kw):  # type: ignore[no-untyped-def]
    return actions.do_check_in(place=place, name=name, id_number=id_number, client_key=key, now=now, **kw)


# ---- the action -------------------------------------------------------------------------------------


def test_check_in_keeps_the_register_key_encrypted_pii_masks_and_an_audit_entry(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    checkin = _check_in(place, name="  张  三 ", phone="+86 139-1234-5678")
    person = apply_identity(Person(name="张三"), id_type=IdType.RESIDENT_ID, id_number=ZHANG.lower())
    assert checkin.person_key == person.id_index == id_lookup_key(IdType.RESIDENT_ID, ZHANG)
    row = VenueCheckin.objects.get()
    assert (row.place_id, row.scanned_at, row.name) == (place.pk, T0, "张 三")
    assert (row.id_number, row.id_masked) == (ZHANG, ZHANG[:4] + "*" * 10 + ZHANG[-4:])
    assert (row.phone, row.phone_masked) == ("13912345678", "139****5678")
    assert row.flushed_at is None
    with connection.cursor() as cur:
        cur.execute("SELECT id_number, phone FROM places_venuecheckin")
        stored = cur.fetchone()
    assert ZHANG not in stored[0] and "13912345678" not in stored[1]  # encrypted at rest
    entry = AuditEntry.objects.get(action="places.check_in")
    assert entry.actor_id is None and entry.actor_label == actions.CHECKIN_PAGE_ACTOR
    assert entry.object_id == str(row.pk)
    assert entry.changes == {"venue_code": place.venue_code, "id": row.id_masked}
    assert ZHANG not in str(entry.changes)


def test_the_same_client_key_again_is_the_same_check_in(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    first = _check_in(place)
    again = _check_in(place, now=T0 + dt.timedelta(hours=2))  # a resubmitted form, much later
    assert again.pk == first.pk and again.scanned_at == T0
    assert VenueCheckin.objects.count() == 1
    assert AuditEntry.objects.filter(action="places.check_in").count() == 1


def test_a_client_key_reused_for_another_person_is_refused_not_merged(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    _check_in(place)
    with pytest.raises(Conflict) as info:
        _check_in(place, id_number=LI, name="李四")
    assert info.value.field == "client_key"
    with pytest.raises(Conflict):
        _check_in(make_place(cast, name="另一家"))  # the same key at another venue
    assert VenueCheckin.objects.count() == 1


@pytest.mark.parametrize(
    ("later", "same"),
    [
        (dt.timedelta(minutes=4, seconds=59), True),
        (dt.timedelta(minutes=5), True),
        (dt.timedelta(minutes=5, seconds=1), False),
        (-dt.timedelta(minutes=5), True),
        (-dt.timedelta(minutes=5, seconds=1), False),
    ],
)
def test_the_same_person_at_the_same_place_within_five_minutes_is_one_check_in(cast, later, same) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    first = _check_in(place, key="a" * 20)
    second = _check_in(place, key="b" * 20, now=T0 + later)
    assert (second.pk == first.pk) is same
    assert VenueCheckin.objects.count() == (1 if same else 2)
    assert AuditEntry.objects.filter(action="places.check_in").count() == (1 if same else 2)


def test_the_window_is_per_person_and_per_place(cast) -> None:  # type: ignore[no-untyped-def]
    here, there = make_place(cast), make_place(cast, name="隔壁超市", kind="supermarket")
    _check_in(here, key="a" * 20)
    _check_in(here, key="b" * 20, id_number=LI, name="李四", now=T0 + dt.timedelta(minutes=1))
    _check_in(there, key="c" * 20, now=T0 + dt.timedelta(minutes=2))
    assert VenueCheckin.objects.count() == 3


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (ZHANG[:17] + ("0" if ZHANG[17] != "0" else "1"), "check digit is wrong"),
        ("5.10116E+17", "scientific notation"),
        ("510116198001011234.0", "stored as a number by Excel"),
        ("510116800101123", "15-digit"),
        ("", "is empty"),
        ("51011619800101", "must have 18 characters"),
        ("51011619801301123X", "does not exist"),
    ],
)
def test_bad_resident_ids_are_refused_with_the_projects_messages(cast, raw, needle) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    with translation.override("en"), pytest.raises(InvalidInput) as info:
        _check_in(place, id_number=raw)
    assert info.value.field == "id_number"
    assert needle in info.value.message
    assert not VenueCheckin.objects.exists()
    assert not AuditEntry.objects.filter(action="places.check_in").exists()


def test_every_wrong_field_is_reported_at_once(cast) -> None:  # type: ignore[no-untyped-def]
    with translation.override("en"), pytest.raises(InvalidInput) as info:
        _check_in(make_place(cast), name=" ", id_number="5.10116E+17", phone="1234")
    fields = info.value.details["fields"]
    assert set(fields) == {"name", "id_number", "phone"}
    assert info.value.field == "name"
    assert "11 digits" in fields["phone"] and "Excel" in fields["id_number"]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"name": "张" * 51}, "name"),
        ({"name": ZHANG}, "name"),  # the ID typed into the name field
        ({"phone": "12012345678"}, "phone"),
        ({"key": ""}, "client_key"),
        ({"key": "short"}, "client_key"),
        ({"key": "a" * 10 + " " + "a" * 10}, "client_key"),
        ({"key": "a" * 65}, "client_key"),
        ({"key": "a" * 19 + "<"}, "client_key"),
    ],
)
def test_bad_names_phones_and_client_keys_are_refused(cast, kw, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as info:
        _check_in(make_place(cast), **kw)
    assert info.value.field == field
    assert not VenueCheckin.objects.exists()


def test_an_inactive_place_refuses_check_ins(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast, active=False)
    with pytest.raises(Conflict):
        _check_in(place)
    assert not VenueCheckin.objects.exists()


def test_a_place_deactivated_after_the_page_was_opened_refuses(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    stale = type(place).objects.get(pk=place.pk)  # the page's copy, still active
    actions.do_deactivate_place(actor=None, place=place, reason="closed")
    assert stale.active
    with pytest.raises(Conflict):
        _check_in(stale)


def test_a_naive_time_is_a_programming_error(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        _check_in(make_place(cast), now=dt.datetime(2022, 6, 5, 10, 30))


# ---- the page ---------------------------------------------------------------------------------------


def _form_key(body: str) -> str:
    match = re.search(r'name="client_key" value="([^"]+)"', body)
    assert match, "no client key in the page"
    return match.group(1)


def _post(client, place, *, key: str | None = None, **data):  # type: ignore[no-untyped-def]
    if key is None:
        key = _form_key(client.get(f"/v/{place.venue_code}").content.decode())
    fields = {"name": "张三", "id_number": ZHANG, "phone": "", "remember": "on", "client_key": key}
    fields.update(data)
    return client.post(f"/v/{place.venue_code}", {k: v for k, v in fields.items() if v is not None})


def test_the_page_shows_the_venue_and_a_check_in_form_with_a_fresh_key_per_load(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    resp = client.get(f"/v/{place.venue_code}")
    body = resp.content.decode()
    assert resp.status_code == 200
    assert place.name in body and str(place.get_kind_display()) in body
    for name in ("name", "id_number", "phone", "remember", "csrfmiddlewaretoken"):
        assert f'name="{name}"' in body
    assert re.search(r'name="remember"[^>]*checked', body)  # remember me: on by default
    assert "no-store" in resp["Cache-Control"]  # the back button reloads: a fresh key, nothing cached
    assert _form_key(body) != _form_key(client.get(f"/v/{place.venue_code}").content.decode())
    assert 'lang="zh-hans"' in body
    assert not VenueCheckin.objects.exists()  # opening the page records nothing


def test_a_check_in_shows_the_confirmation_with_local_time_and_masked_id(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    resp = _post(client, place, phone="13912345678")
    body = resp.content.decode()
    assert resp.status_code == 200
    row = VenueCheckin.objects.get()
    local = timezone.localtime(row.scanned_at)
    assert str(local.tzinfo) == "Asia/Shanghai"
    assert f'data-testid="done-time">{local:%H:%M}<' in body
    assert f'data-testid="done-id">{row.id_masked}<' in body
    assert 'data-testid="done-name">张*<' in body
    assert place.name in body and 'data-testid="checkin-done"' in body
    assert ZHANG not in body and "13912345678" not in body and "139****5678" not in body
    assert row.person_key == id_lookup_key(IdType.RESIDENT_ID, ZHANG)


def test_csrf_works_for_anonymous_visitors_and_is_enforced(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    client = Client(enforce_csrf_checks=True)
    body = client.get(f"/v/{place.venue_code}").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)  # type: ignore[union-attr]
    data = {"name": "张三", "id_number": ZHANG, "client_key": _form_key(body)}
    assert Client(enforce_csrf_checks=True).post(f"/v/{place.venue_code}", data).status_code == 403
    assert not VenueCheckin.objects.exists()
    resp = client.post(f"/v/{place.venue_code}", {**data, "csrfmiddlewaretoken": token})
    assert resp.status_code == 200 and VenueCheckin.objects.count() == 1


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("5.10116E+17", "scientific notation"),
        (ZHANG[:17] + ("0" if ZHANG[17] != "0" else "1"), "check digit"),
    ],
)
def test_a_bad_id_shows_its_error_beside_the_field_and_keeps_what_was_typed(
    cast, english, raw, needle
) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    resp = _post(english, place, id_number=raw, name="张三", phone="139 1234 5678", remember=None)
    body = resp.content.decode()
    assert resp.status_code == 422
    error = re.search(r'data-testid="error-id_number">([^<]+)<', body)
    assert error and needle in error.group(1)
    assert 'data-testid="error-name"' not in body and 'data-testid="error-phone"' not in body
    assert f'value="{raw}"' in body and 'value="张三"' in body and 'value="139 1234 5678"' in body
    assert not re.search(r'name="remember"[^>]*checked', body)  # the unticked box stays unticked
    assert re.search(r'name="id_number"[^>]*is-invalid|is-invalid[^>]*name="id_number"', body)
    assert not VenueCheckin.objects.exists()
    assert "jd_visitor" not in resp.cookies


def test_all_bad_fields_are_marked_at_once(cast, english) -> None:  # type: ignore[no-untyped-def]
    body = _post(english, make_place(cast), name="", id_number="", phone="12").content.decode()
    for field in ("name", "id_number", "phone"):
        assert f'data-testid="error-{field}"' in body


def test_a_replayed_post_is_one_check_in(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    key = _form_key(client.get(f"/v/{place.venue_code}").content.decode())
    first = _post(client, place, key=key)
    second = _post(client, place, key=key)
    assert first.status_code == second.status_code == 200
    assert VenueCheckin.objects.count() == 1
    time = re.compile(r'data-testid="done-time">([^<]+)<')
    assert time.search(first.content.decode()).group(1) == time.search(second.content.decode()).group(1)  # type: ignore[union-attr]


def test_a_reused_form_for_another_person_asks_again_with_a_fresh_key(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    key = _form_key(client.get(f"/v/{place.venue_code}").content.decode())
    _post(client, place, key=key)
    resp = _post(client, place, key=key, name="李四", id_number=LI)
    body = resp.content.decode()
    assert resp.status_code == 409
    assert 'data-testid="checkin-error"' in body and 'value="李四"' in body
    fresh = _form_key(body)
    assert fresh != key
    assert _post(client, place, key=fresh, name="李四", id_number=LI).status_code == 200
    assert VenueCheckin.objects.count() == 2


def test_unknown_or_inactive_codes_get_a_plain_404_and_record_nothing(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast, active=False)
    assert client.get(f"/v/{place.venue_code}").status_code == 404
    resp = _post(client, place, key="a" * 20)
    assert resp.status_code == 404 and 'data-testid="venue-missing"' in resp.content.decode()
    assert client.get("/v/HY00000000").status_code == 404
    assert not VenueCheckin.objects.exists()


# ---- remember me: the signed cookie and the one-tap check-in ------------------------------------------


def test_remember_me_sets_a_signed_encrypted_long_lived_httponly_lax_cookie(cast, client) -> None:  # type: ignore[no-untyped-def]
    resp = _post(client, make_place(cast), phone="13912345678")
    cookie = resp.cookies["jd_visitor"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) >= 180 * 24 * 3600
    for secret in (ZHANG, ZHANG[-6:], "张三", "13912345678"):
        assert secret not in cookie.value
    assert views._remembered(_request_with(cookie.value)) is not None


def _request_with(value: str):  # type: ignore[no-untyped-def]
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.COOKIES["jd_visitor"] = value
    return request


def test_without_remember_me_no_cookie_is_set(cast, client) -> None:  # type: ignore[no-untyped-def]
    resp = _post(client, make_place(cast), remember=None)
    assert resp.status_code == 200 and "jd_visitor" not in resp.cookies


def test_the_next_venue_offers_a_one_tap_check_in_as_the_remembered_visitor(cast, client) -> None:  # type: ignore[no-untyped-def]
    first, second = make_place(cast), make_place(cast, name="惠民超市", kind="supermarket")
    _post(client, first, phone="13912345678")
    body = client.get(f"/v/{second.venue_code}").content.decode()
    masked = ZHANG[:4] + "*" * 10 + ZHANG[-4:]
    start = body.index('data-testid="one-tap-submit"')
    tap = body[start : body.index("</button>", start)]
    assert "张*" in tap and f"({masked})" in tap
    assert 'data-testid="checkin-form"' not in body  # the form waits behind "someone else"
    assert ZHANG not in body and "张三" not in body and "139" not in body
    resp = client.post(f"/v/{second.venue_code}", {"intent": "remembered", "client_key": _form_key(body)})
    assert resp.status_code == 200 and 'data-testid="checkin-done"' in resp.content.decode()
    rows = list(VenueCheckin.objects.order_by("pk"))
    assert [r.place_id for r in rows] == [first.pk, second.pk]
    assert rows[1].person_key == rows[0].person_key and rows[1].phone == "13912345678"
    assert rows[1].name == "张三"
    assert resp.cookies["jd_visitor"]["max-age"]  # a remembered check-in renews the cookie


def test_someone_else_gets_the_form_with_remember_unticked(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    _post(client, place)
    body = client.get(f"/v/{place.venue_code}?other=1").content.decode()
    assert 'data-testid="checkin-form"' in body and 'data-testid="one-tap-submit"' in body
    assert not re.search(r'name="remember"[^>]*checked', body)
    resp = _post(client, place, key=_form_key(body), name="李四", id_number=LI, remember=None)
    assert resp.status_code == 200 and VenueCheckin.objects.count() == 2
    assert "jd_visitor" not in resp.cookies  # the phone still remembers 张三
    assert "张*" in client.get(f"/v/{place.venue_code}").content.decode()


def test_not_me_forgets_the_visitor(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    _post(client, place)
    resp = client.post(f"/v/{place.venue_code}", {"intent": "forget"})
    assert resp.status_code == 302 and resp["Location"] == f"/v/{place.venue_code}"
    assert resp.cookies["jd_visitor"].value == "" and int(resp.cookies["jd_visitor"]["max-age"]) == 0
    body = client.get(f"/v/{place.venue_code}").content.decode()
    assert 'data-testid="one-tap-submit"' not in body and "张*" not in body
    assert 'data-testid="checkin-form"' in body


@pytest.mark.parametrize("value", ["garbage", "v1:AAAA:forged", ""])
def test_a_forged_or_broken_cookie_is_ignored(cast, client, value) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    client.cookies = SimpleCookie({"jd_visitor": value})
    body = client.get(f"/v/{place.venue_code}").content.decode()
    assert 'data-testid="one-tap-submit"' not in body and 'data-testid="checkin-form"' in body
    resp = client.post(f"/v/{place.venue_code}", {"intent": "remembered", "client_key": "a" * 20})
    assert resp.status_code == 200 and 'data-testid="checkin-notice"' in resp.content.decode()
    assert not VenueCheckin.objects.exists()


def test_a_cookie_signed_for_another_purpose_is_not_trusted(cast, client) -> None:  # type: ignore[no-untyped-def]
    from django.core import signing

    from jiedao.core import crypto

    forged = signing.get_cookie_signer(salt="jd_visitor" + "other-salt").sign(
        crypto.encrypt(json.dumps({"n": "王五", "i": LI}))
    )
    client.cookies = SimpleCookie({"jd_visitor": forged})
    body = client.get(f"/v/{make_place(cast).venue_code}").content.decode()
    assert 'data-testid="one-tap-submit"' not in body


def test_the_page_shows_no_one_elses_data(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    _post(client, place, phone="13912345678")
    stranger = Client()
    body = stranger.get(f"/v/{place.venue_code}").content.decode()
    row = VenueCheckin.objects.get()
    for private in (ZHANG, row.id_masked, ZHANG[-4:], "张三", "张*", "13912345678", row.phone_masked,
                    place.address, place.contact_name, "138****8000"):  # fmt: skip
        assert private not in body, private
    assert 'data-testid="one-tap-submit"' not in body


# ---- queries ----------------------------------------------------------------------------------------


def test_the_page_and_a_check_in_cost_a_fixed_number_of_queries(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    url = f"/v/{place.venue_code}"
    assert count_queries(lambda: client.get(url)) == 1  # the place; nothing per visitor or check-in
    first = count_queries(lambda: _post(client, place, key="a" * 20))
    for i in range(30):
        actions.do_check_in(
            place=place,
            name="访客",
            id_number=rid(f"51011619900101{i:03d}"),
            client_key=f"bulk-{i:016d}",
        )
    assert count_queries(lambda: client.get(url)) == 1  # the remembered visitor costs no query
    again = count_queries(lambda: _post(client, place, key="b" * 20, id_number=LI, name="李四"))
    # place, lock, replay and window look-ups, insert, audit chain (2) and their savepoints: 13 on
    # SQLite, 14 on PostgreSQL; what matters is that 30 more check-ins add none
    assert again == first <= 14, (first, again)


def test_one_address_cannot_flood_a_venue(cast, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from jiedao.places import views

    monkeypatch.setattr(views, "CHECKINS_PER_WINDOW", 3)
    place = make_place(cast)
    for _ in range(3):
        assert _post(client, place).status_code == 200
    refused = _post(client, place)
    assert refused.status_code == 429 and 'data-testid="checkin-notice"' in refused.content.decode()
    assert VenueCheckin.objects.count() == 1  # the three were one person within five minutes
    other = make_place(cast, name="甲一超市")
    assert _post(client, other).status_code == 200  # another venue is counted apart
