"""Door sensors' parts of other apps' pages (registered from SensorsConfig.ready): the end hook of a
control case (sensors come off when it ends), the sensor card of the case page, the household file's
sensor history, the Today page's door alerts and the dashboard's cards."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core.dashboard import Card
from jiedao.core.scoping import scope_q
from jiedao.sensors.choices import OPEN_ALERT_STATUSES, AlertStatus
from jiedao.sensors.queries import READ_ROLES, alerts_visible_to, bindings_visible_to, can


def _household_section(request: HttpRequest, household: Any) -> dict[str, Any] | None:
    """The household's sensor history: each period a sensor was on its door, with its alerts."""
    from jiedao.sensors.views import DEVICE_ROLES

    bindings = list(
        bindings_visible_to(request.user)
        .filter(household=household)
        .annotate(
            alerts_n=Count("alerts"), open_n=Count("alerts", filter=Q(alerts__status__in=OPEN_ALERT_STATUSES))
        )
        .order_by("-starts_at", "-pk")[:30]
    )
    if not bindings:
        return None
    return {
        "template": "sensors/_household_section.html",
        "bindings": bindings,
        "show_devices": can(request.user, DEVICE_ROLES),
        "show_cases": can(request.user, READ_ROLES),
    }


def sensor_cards(user: Any) -> list[Card]:
    """Open door alerts (red while any is new) and sensors on doors in the user's area gone silent."""
    if not user.is_authenticated or not user.has_role(*READ_ROLES):
        return []
    from jiedao.control.queries import role_scope
    from jiedao.sensors.actions import silent_after
    from jiedao.sensors.models import Binding

    a = alerts_visible_to(user).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_ALERT_STATUSES)),
        new=Count("pk", filter=Q(status=AlertStatus.NEW)),
    )
    cutoff = timezone.now() - silent_after()
    silent = (
        Binding.objects.filter(
            scope_q(role_scope(user, READ_ROLES)), ends_at__isnull=True, starts_at__lt=cutoff
        )
        .filter(Q(device__last_seen_at__lt=cutoff) | Q(device__last_seen_at__isnull=True))
        .count()
    )
    url = reverse("sensors:alerts")
    return [
        Card(
            _("Open door alerts"), a["open"], f"{url}?status=open",
            note=_("%(n)s not yet acknowledged") % {"n": a["new"]},
            tone="danger" if a["new"] else ("warning" if a["open"] else "success"),
        ),
        Card(
            _("Silent door sensors"), silent, f"{url}?kind=offline&status=open",
            note=_("on a door, nothing heard for %(m)s min") % {"m": int(silent_after().total_seconds() // 60)},
            tone="danger" if silent else "",
        ),
    ]  # fmt: skip


def register() -> None:
    from jiedao.control.hooks import register_case_card, register_end_hook
    from jiedao.core import dashboard
    from jiedao.registry.sections import register_household_section
    from jiedao.sensors.actions import end_case_bindings
    from jiedao.sensors.today import render_door_alerts
    from jiedao.sensors.views import case_card
    from jiedao.work.sections import register_today_section

    register_end_hook(end_case_bindings)
    from jiedao.work.sections import register_subject_driven

    register_subject_driven("sensors.door_open", "sensors.offline", "sensors.tamper")
    register_case_card(40, case_card)
    register_household_section(
        "sensors.history", gettext_lazy("Door sensors"), 35, _household_section, roles=READ_ROLES
    )
    register_today_section("sensors.door_alerts", gettext_lazy("Door alerts"), 2, render_door_alerts)
    dashboard.register(35)(sensor_cards)
