"""API keys: created with their own service account, shown once, stored only as SHA-256, and refused
once revoked, expired or when the service account is deactivated."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.utils import timezone

from jiedao.core.errors import Forbidden, InvalidInput
from jiedao.core.models import AuditEntry
from jiedao.org import actions
from jiedao.org.auth import KeyAuth, require_permission
from jiedao.org.choices import Role, UnitLevel
from jiedao.org.models import ApiKey, User

# These tests read the English UI text.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _key(cast, permissions=("registry.read",), **kw):  # type: ignore[no-untyped-def]
    return actions.do_create_service_key(
        actor=cast["command"], name=kw.pop("name", "城市平台"), role=Role.GRID_WORKER, level=UnitLevel.GRID,
        grid=cast.grid_a1, permissions=list(permissions), **kw,
    )  # fmt: skip


def _auth(raw: str):  # type: ignore[no-untyped-def]
    request = RequestFactory().get("/api/v1/registry/persons", HTTP_X_API_KEY=raw)
    return request, KeyAuth().authenticate(request, raw)


def test_a_created_key_authenticates_as_its_service_account(cast) -> None:  # type: ignore[no-untyped-def]
    key, raw = _key(cast)
    request, user = _auth(raw)
    assert user is not None and user.pk == key.user_id
    assert user.is_service_account and not user.has_usable_password()
    assert user.roles == {"grid_worker"} and user.scope.grid_ids == {cast.grid_a1.pk}
    assert request.user == user and request.api_key.pk == key.pk
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
    require_permission(request, "registry.read")
    with pytest.raises(Forbidden):
        require_permission(request, "work.write")


def test_star_permission_allows_everything_the_role_allows(cast) -> None:  # type: ignore[no-untyped-def]
    _key_row, raw = _key(cast, permissions=["*"])
    request, _user = _auth(raw)
    require_permission(request, "work.write")


def test_unknown_wrong_or_empty_keys_fail(cast) -> None:  # type: ignore[no-untyped-def]
    _k, raw = _key(cast)
    assert _auth(raw[:-1] + ("A" if raw[-1] != "A" else "B"))[1] is None
    assert _auth("")[1] is None
    assert _auth(hashlib.sha256(raw.encode()).hexdigest())[1] is None  # the stored hash is not a key


def test_revoked_key_fails(cast) -> None:  # type: ignore[no-untyped-def]
    key, raw = _key(cast)
    actions.do_revoke_api_key(actor=cast["command"], key=key, reason="泄露")
    assert _auth(raw)[1] is None
    assert AuditEntry.objects.filter(
        action="org.revoke_api_key", object_id=str(key.pk), reason="泄露"
    ).exists()


def test_expired_key_fails(cast) -> None:  # type: ignore[no-untyped-def]
    key, raw = _key(cast, expires_at=timezone.now() + dt.timedelta(hours=1))
    assert _auth(raw)[1] is not None
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _auth(raw)[1] is None


def test_inactive_service_account_fails(cast) -> None:  # type: ignore[no-untyped-def]
    key, raw = _key(cast)
    User.objects.filter(pk=key.user_id).update(is_active=False)
    assert _auth(raw)[1] is None


def test_only_the_hash_is_stored(cast, login) -> None:  # type: ignore[no-untyped-def]
    client = login("command")
    resp = client.post(
        "/api-keys/new/",
        {"name": "健康码平台", "role": "grid_worker", "unit": f"grid:{cast.grid_a1.pk}",
         "permissions": ["registry.read", "places.read"]},
    )  # fmt: skip
    assert resp.status_code == 200 and resp["Cache-Control"] == "no-store"
    body = resp.content.decode()
    match = re.search(r'value="(jd_[A-Za-z0-9_\-]+)"', body)
    assert match and 'data-testid="raw-key"' in body
    raw_key = match.group(1)
    key = ApiKey.objects.get(name="健康码平台")
    assert key.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert key.permissions == ["places.read", "registry.read"]
    assert raw_key.startswith(key.prefix) and len(raw_key) > 40
    # the raw key is nowhere in the database: not in the key row, the audit log or the session
    stored = (
        [str(v) for v in ApiKey.objects.values_list()]
        + [str(e.changes) + e.reason for e in AuditEntry.objects.all()]
        + [s.session_data for s in Session.objects.all()]
    )
    assert not any(raw_key in s for s in stored)
    assert _auth(raw_key)[1] is not None
    # the list shows the prefix only
    listing = client.get("/api-keys/").content.decode()
    assert key.prefix in listing and raw_key not in listing


def test_bad_key_requests_are_refused_by_field(cast, login) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as exc:
        _key(cast, permissions=[])
    assert exc.value.field == "permissions"
    with pytest.raises(InvalidInput) as exc:
        _key(cast, permissions=["registry.delete"])
    assert exc.value.field == "permissions"
    with pytest.raises(InvalidInput) as exc:
        _key(cast, expires_at=timezone.now() - dt.timedelta(days=1))
    assert exc.value.field == "expires_at"
    with pytest.raises(InvalidInput) as exc:
        _key(cast, name="  ")
    assert exc.value.field == "name"
    assert not User.objects.filter(is_service_account=True).exists()
    resp = login("command").post(
        "/api-keys/new/",
        {"name": "x", "role": "grid_worker", "unit": f"grid:{cast.grid_a1.pk}", "expires_on": "2001-01-01",
         "permissions": ["registry.read"]},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert resp.status_code == 422 and b'data-testid="error-expires_on"' in resp.content
    assert not ApiKey.objects.exists()


def test_only_command_creates_or_revokes_keys(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        actions.do_create_service_key(
            actor=cast["community_staff_a"], name="x", role=Role.GRID_WORKER, level=UnitLevel.GRID,
            grid=cast.grid_a1, permissions=["registry.read"],
        )  # fmt: skip
    key, _raw = _key(cast)
    with pytest.raises(Forbidden):
        actions.do_revoke_api_key(actor=cast["auditor"], key=key)
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_revoke_page_asks_first_and_the_list_shows_status(cast, login) -> None:  # type: ignore[no-untyped-def]
    key, raw = _key(cast)
    expired, _r = _key(cast, name="旧密钥", expires_at=timezone.now() + dt.timedelta(hours=1))
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    client = login("command")
    assert b'data-testid="confirm"' in client.get(f"/api-keys/{key.pk}/revoke/").content
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    assert client.post(f"/api-keys/{key.pk}/revoke/", {"reason": "停用"}).status_code == 302
    assert _auth(raw)[1] is None
    assert client.post(f"/api-keys/{key.pk}/revoke/").status_code == 409
    body = client.get("/api-keys/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert body.count('data-testid="api-key-row"') == 2
    assert "Revoked" in body and "Expired" in body
