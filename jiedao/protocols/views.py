"""The read-only protocols page: every protocol, its parameters, and per category the deadline,
measure, tests, check-ins, follow-on and release criteria — for any role."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from jiedao.core.decorators import role_required
from jiedao.core.errors import NotFound
from jiedao.protocols import registry


def _in_force_key(today: Any) -> str:
    try:
        return registry.get_protocol(on=today).key
    except NotFound:
        return ""


@require_GET
@role_required()
def protocol_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    protocols = []
    for p in registry.list_protocols():
        categories = []
        for c in p.categories.values():
            categories.append(
                {
                    "category": c,
                    "phases": list(c.measure.chain()),
                    "classify_labels": [p.categories[k].label for k in c.classify_as],
                }
            )
        base = registry.all_protocols().get(p.extends) if p.extends else None
        parameters = [
            {
                "name": name,
                "value": value.strftime("%H:%M") if isinstance(value, dt.time) else value,
                # A local variant's own settings stand out from what it inherits.
                "overridden": base is not None and base.parameters.get(name) != value,
            }
            for name, value in p.parameters.items()
        ]
        protocols.append(
            {
                "protocol": p,
                "categories": categories,
                "current": p.in_force_on(today),
                "parameters": parameters,
            }
        )
    ctx = {
        "protocols": protocols,
        "default_key": registry.default_protocol_key(),
        "applied_key": _in_force_key(today),
        "today": today,
    }
    return render(request, "protocols/list.html", ctx)
