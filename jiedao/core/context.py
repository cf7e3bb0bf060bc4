"""The shell's template context: navigation by role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# (url name, label, icon, roles that see it — empty means every signed-in user)
NAV: list[tuple[str, Any, str, set[str]]] = [
    ("home", _("Dashboard"), "layout-dashboard", set()),
    ("work:today", _("Today"), "checklist", set()),
    ("work:list", _("Work items"), "list-check", {"command", "community_staff", "auditor"}),
    (
        "registry:households",
        _("Households"),
        "home",
        {"command", "community_staff", "grid_worker", "doctor", "police", "volunteer", "auditor"},
    ),
    (
        "registry:persons",
        _("Persons"),
        "users",
        {"command", "community_staff", "grid_worker", "doctor", "police", "volunteer", "auditor"},
    ),
    (
        "places:list",
        _("Places"),
        "building-store",
        {
            "command",
            "community_staff",
            "grid_worker",
            "inspector",
            "pharmacy_clerk",
            "enterprise_liaison",
            "auditor",
        },
    ),
    (
        "screening:key_persons",
        _("Key persons"),
        "user-search",
        {"command", "community_staff", "grid_worker", "doctor", "police", "auditor"},
    ),
    (
        "control:cases",
        _("Control"),
        "shield-check",
        {"command", "community_staff", "grid_worker", "doctor", "police", "auditor"},
    ),
    (
        "control:supplies",
        _("Supplies"),
        "basket",
        {"command", "community_staff", "grid_worker", "doctor", "volunteer", "auditor"},
    ),
    (
        "sensors:alerts",
        _("Door alerts"),
        "door",
        {"command", "community_staff", "grid_worker", "doctor", "police", "auditor"},
    ),
    ("sensors:devices", _("Door sensors"), "device-mobile", {"command", "community_staff", "auditor"}),
    ("screening:lists", _("Pushed lists"), "list-details", {"command", "auditor"}),
    ("nat:sampler", _("Sampling"), "test-pipe", {"sampler"}),
    ("tracing:runs", _("Tracing"), "route", {"command", "auditor"}),
    ("nat:my_sites", _("Sampling sites"), "test-pipe", {"command", "community_staff", "sampler"}),
    ("nat:results", _("Laboratory results"), "flask", {"command"}),
    (
        "nat:rounds",
        _("Testing rounds"),
        "chart-donut",
        {"command", "community_staff", "grid_worker", "auditor"},
    ),
    ("nat:groups", _("Key-industry groups"), "briefcase", {"command", "community_staff", "auditor"}),
    ("nat:codes", _("Person code cards"), "qrcode", {"command", "community_staff", "grid_worker"}),
    ("registry:import", _("Import"), "file-import", {"command", "community_staff"}),
    ("org:staff", _("Staff"), "user-cog", {"command", "community_staff"}),
    ("org:working_groups", _("Working groups"), "users-group", {"command"}),
    ("org:api_keys", _("API keys"), "key", {"command"}),
    ("protocols:list", _("Prevention protocols"), "book", set()),
    ("core:audit", _("Audit log"), "history", {"command", "auditor"}),
]


# Rarely used office pages sit in a "More" menu so the bar fits one line on a laptop.
ADMIN_ITEMS = {
    "org:working_groups",
    "org:api_keys",
    "core:audit",
    "protocols:list",
    "screening:lists",
    "tracing:runs",
    "nat:my_sites",
    "nat:results",
    "nat:rounds",
    "nat:groups",
    "nat:codes",
    "sensors:devices",
    "registry:import",
    "org:staff",
}


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    roles = user.roles
    items = []
    for name, label, icon, allowed in NAV:
        if allowed and not roles.intersection(allowed):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "url": url,
                "label": label,
                "icon": icon,
                "active": request.path == url,
                "admin": name in ADMIN_ITEMS,
            }
        )
    return {
        "nav": [i for i in items if not i["admin"]],
        "nav_admin": [i for i in items if i["admin"]],
        "role_label": getattr(user, "primary_role_label", ""),
    }
