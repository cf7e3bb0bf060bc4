from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from jiedao.core import dashboard
from jiedao.core.decorators import role_required
from jiedao.core.listing import listing
from jiedao.core.models import AuditEntry

# Field roles start on their Today page; office roles on the dashboard.
FIELD_ROLES = {"grid_worker", "volunteer", "doctor", "police", "sampler", "inspector", "pharmacy_clerk"}


def healthz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:  # the probe reports, never raises
        return JsonResponse({"status": "error", "database": str(exc)[:200]}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


@role_required()
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.GET.get("view") != "dashboard" and user.primary_role in FIELD_ROLES:  # type: ignore[union-attr]
        return redirect("work:today")
    return render(
        request, "core/home.html", {"cards": dashboard.cards_for(user), "panels": dashboard.panels_for(user)}
    )


@role_required("command", "auditor")
def audit_log(request: HttpRequest) -> HttpResponse:
    qs = AuditEntry.objects.all()
    action = request.GET.get("action", "").strip()
    actor = request.GET.get("actor", "").strip()
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor_label=actor)
    lst = listing(request, qs, sortable={"at": "at", "action": "action", "id": "id"}, default_sort="-id")
    return render(request, "core/audit_log.html", {"list": lst, "action": action, "actor": actor})
