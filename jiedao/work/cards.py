"""Dashboard cards for work: open and overdue items the user can see."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from jiedao.core.dashboard import Card, register
from jiedao.work.queries import can_see_work_list, work_counts


@register(order=20)
def work_cards(user: Any) -> list[Card]:
    if not getattr(user, "is_authenticated", False) or not user.roles:
        return []
    counts = work_counts(user)
    # Office roles go to the filtered work list; field roles to their Today page.
    if can_see_work_list(user):
        base = reverse("work:list")
        open_url, overdue_url = f"{base}?status=open_any", f"{base}?overdue=on"
    else:
        open_url = overdue_url = reverse("work:today")
    return [
        Card(title=_("Open work items"), value=counts["open"], url=open_url),
        Card(
            title=_("Overdue work items"),
            value=counts["overdue"],
            url=overdue_url,
            tone="danger" if counts["overdue"] > 0 else "",
        ),
    ]
