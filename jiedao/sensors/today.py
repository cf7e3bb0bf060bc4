"""The Today page's door alerts: the open alerts of the doors the user watches, as the grid worker of the
binding's grid or on the case's care team, newest first, each linking to its alert page."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from jiedao.control.queries import role_scope
from jiedao.core.scoping import scope_q
from jiedao.org.choices import Role
from jiedao.sensors.choices import OPEN_ALERT_STATUSES
from jiedao.sensors.models import SensorAlert
from jiedao.sensors.queries import READ_ROLES, alerts_visible_to, can

SHOWN = 20


def my_open_alerts(user: Any) -> QuerySet[SensorAlert]:
    """Open alerts the user may read and watches: in the grid they work as grid worker, or of a case
    whose care team names them. (A volunteer on a team reads no alerts: they stay off their Today.)"""
    if not can(user, READ_ROLES):
        return SensorAlert.objects.none()
    mine = Q(case__team__user=user)
    grid = role_scope(user, (Role.GRID_WORKER,))
    if not grid.empty:
        mine |= scope_q(grid)
    ids = SensorAlert.objects.filter(mine, status__in=OPEN_ALERT_STATUSES).values("pk")
    return alerts_visible_to(user).filter(pk__in=ids)


def render_door_alerts(request: HttpRequest) -> str | None:
    qs = my_open_alerts(request.user)
    alerts = list(qs.order_by("-raised_at", "-pk")[:SHOWN])
    if not alerts:
        return None
    total = len(alerts) if len(alerts) < SHOWN else qs.count()
    now = timezone.now()
    rows = [(a, a.minutes_open(now)) for a in alerts]
    return render_to_string(
        "sensors/_today_alerts.html",
        {"rows": rows, "total": total, "more": total - len(alerts)},
        request=request,
    )
