"""The Today page's "my care cases" section: the open cases whose care team names the user. It shows
who and where, and the day of the measure; health data stays on the case page (volunteers cannot open it)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from jiedao.control.choices import OPEN_STATUSES
from jiedao.control.models import ControlCase
from jiedao.control.queries import READ_ROLES, can_in_area


def render_my_cases(request: HttpRequest) -> str | None:
    user: Any = request.user
    cases = list(
        ControlCase.objects.filter(team__user=user, status__in=OPEN_STATUSES)
        .select_related("person", "household", "community", "grid")
        .defer("community__geometry", "grid__geometry")
        .order_by("end_date", "pk")
        .distinct()[:50]
    )
    if not cases:
        return None
    today = timezone.localdate()
    rows = [(c, c.day_of(today), can_in_area(user, READ_ROLES, c)) for c in cases]
    return render_to_string("control/_today_cases.html", {"rows": rows, "today": today}, request=request)
