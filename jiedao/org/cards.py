"""The organisation's dashboard card: active staff in the manager's area."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from jiedao.core.dashboard import Card
from jiedao.org.queries import active_staff_count, manager_scope


def staff_cards(user: Any) -> list[Card]:
    scope = manager_scope(user)
    if not scope.everything:
        return []  # the command view only: community offices see their staff on the staff page
    return [
        Card(
            title=_("Active staff"),
            value=active_staff_count(user),
            url=reverse("org:staff") + "?active=yes",
            note=_("accounts with at least one role"),
        )
    ]
