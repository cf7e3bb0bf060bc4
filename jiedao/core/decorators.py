"""Page guards: signed in, holding at least one role (or one of the given roles)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from jiedao.core.errors import Forbidden


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """With no roles: any role at all. An account without any role sees nothing."""

    def deco(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user: Any = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.roles or (roles and not user.has_role(*roles)):
                raise Forbidden(_("Your account has no role that may open this page."))
            return view(request, *args, **kwargs)

        return wrapper

    return deco
