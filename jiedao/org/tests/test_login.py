"""Sign-in, sign-out, idle session expiry and each role's landing page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jiedao.core.testing import CAST_PASSWORD
from jiedao.org import actions

# These tests read the English UI text.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _sign_in(client: Client, username: str, password: str = CAST_PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/login/", {"username": username, "password": password, **extra})


def test_wrong_password_says_so_and_signs_nobody_in(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    resp = _sign_in(client, "command", "not-the-password")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert 'data-testid="login-error"' in body
    assert "_auth_user_id" not in client.session


def test_wrong_password_message_in_english(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    client.cookies["django_language"] = "en"
    resp = client.post("/login/", {"username": "nobody", "password": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Wrong username or password" in resp.content.decode()


def test_deactivated_account_is_told_why(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    actions.do_set_staff_active(actor=None, user=cast["grid_worker_a"], active=False)
    resp = client.post(
        "/login/", {"username": "grid_worker_a", "password": CAST_PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "has been deactivated" in resp.content.decode()
    assert "_auth_user_id" not in client.session
    # a wrong password for a deactivated account reveals nothing about it
    resp = client.post(
        "/login/", {"username": "grid_worker_a", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Wrong username or password" in resp.content.decode()


def test_empty_fields_are_named(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/login/", {"username": "", "password": ""})
    assert resp.status_code == 200
    assert resp.content.decode().count("invalid-feedback") == 2


@pytest.mark.parametrize(("username", "landing"), [("grid_worker_a", "work:today"), ("command", None)])
def test_each_role_lands_on_its_own_home(client: Client, cast, username: str, landing: str | None) -> None:  # type: ignore[no-untyped-def]
    resp = _sign_in(client, username)
    assert resp.status_code == 302 and resp["Location"] == "/"
    home = client.get("/")
    if landing:
        assert home.status_code == 302 and home["Location"] == reverse(landing)
    else:
        assert home.status_code == 200
        assert "core/home.html" in [t.name for t in home.templates]


def test_sign_in_returns_to_the_page_asked_for(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/staff/")
    assert first.status_code == 302 and first["Location"].startswith("/login/?next=/staff/")
    resp = _sign_in(client, "community_staff_a", next="/staff/")
    assert resp["Location"] == "/staff/"


def test_logout_ends_the_session(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "command")
    assert client.get("/staff/").status_code == 200
    resp = client.post("/logout/")
    assert resp.status_code == 302 and resp["Location"] == "/login/"
    assert client.get("/staff/").status_code == 302


def test_idle_session_expires_and_sends_the_user_to_sign_in(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    assert settings.SESSION_SAVE_EVERY_REQUEST
    _sign_in(client, "command")
    assert client.get("/staff/").status_code == 200
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    resp = client.get("/staff/")
    assert resp.status_code == 302
    assert resp["Location"] == "/login/?next=/staff/"
    assert (
        "Please sign in to continue"
        in client.get(resp["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )


def test_activity_pushes_the_expiry_forward(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "command")
    key = client.session.session_key
    soon = timezone.now() + dt.timedelta(seconds=30)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    assert client.get("/staff/").status_code == 200
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry > timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_deactivation_ends_open_sessions(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "grid_worker_a")
    assert client.get("/work/today/").status_code == 200
    actions.do_set_staff_active(actor=cast["command"], user=cast["grid_worker_a"], active=False)
    assert client.get("/work/today/").status_code == 302


def test_password_reset_ends_open_sessions(client: Client, cast) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, "grid_worker_a")
    assert client.get("/work/today/").status_code == 200
    actions.do_reset_password(actor=cast["command"], user=cast["grid_worker_a"], password="fresh-pass-77")
    assert client.get("/work/today/").status_code == 302
    assert _sign_in(client, "grid_worker_a", "fresh-pass-77").status_code == 302


def test_password_guessing_is_throttled_and_a_right_password_resets(client, cast, settings) -> None:  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    cache.clear()
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        resp = client.post("/login/", {"username": "command", "password": "wrong-guess"})
        assert resp.status_code == 200 and "Wrong username or password" in resp.content.decode()
    # the fourth attempt is refused even with the right password, and says why
    resp = client.post("/login/", {"username": "command", "password": CAST_PASSWORD})
    body = resp.content.decode()
    assert resp.status_code == 200 and "Too many wrong passwords" in body
    assert "_auth_user_id" not in client.session
    # another account from the same address is not affected
    other = client.post("/login/", {"username": "auditor", "password": CAST_PASSWORD})
    assert other.status_code == 302
    cache.clear()  # the window has passed
    ok = Client().post("/login/", {"username": "command", "password": CAST_PASSWORD})
    assert ok.status_code == 302


def test_a_successful_sign_in_clears_earlier_failures(cast, settings) -> None:  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    cache.clear()
    settings.LOGIN_MAX_FAILURES = 2
    c = Client()
    c.post("/login/", {"username": "command", "password": "wrong"})
    assert c.post("/login/", {"username": "command", "password": CAST_PASSWORD}).status_code == 302
    c2 = Client()
    c2.post("/login/", {"username": "command", "password": "wrong"})
    assert c2.post("/login/", {"username": "command", "password": CAST_PASSWORD}).status_code == 302
