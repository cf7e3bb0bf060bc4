"""API authentication: the browser session, or an API key in the `X-API-Key` header. A key acts as its
service account (so scoping is the same code path) and may use only the permissions it lists."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import APIKeyHeader, SessionAuth

from jiedao.core.errors import Forbidden
from jiedao.org.actions import hash_api_key
from jiedao.org.models import ApiKey


class KeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key:
            return None
        row = ApiKey.objects.select_related("user").filter(key_hash=hash_api_key(key)).first()
        now = timezone.now()
        if (
            row is None
            or row.revoked_at
            or (row.expires_at and row.expires_at < now)
            or not row.user.is_active
        ):
            return None
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        request.api_key = row  # type: ignore[attr-defined]
        return row.user


class StaffSession(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        request.api_key = None  # type: ignore[attr-defined]
        return user


API_AUTH = [KeyAuth(), StaffSession()]


def require_permission(request: HttpRequest, permission: str) -> None:
    """Session users are limited by role and scope alone; API keys also by their permission list."""
    key = getattr(request, "api_key", None)
    if key is not None and permission not in key.permissions and "*" not in key.permissions:
        raise Forbidden(_("This API key lacks the %(permission)s permission.") % {"permission": permission})
