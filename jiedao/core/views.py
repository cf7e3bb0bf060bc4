from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

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


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Unknown URLs answer like any other NotFound: JSON under /api/, the error page elsewhere."""
    from jiedao.core.errors import NotFound
    from jiedao.core.middleware import error_response

    return error_response(request, NotFound(_("Not found.")))


def server_error(request: HttpRequest) -> HttpResponse:
    """A bug, not bad input: logged by Django; the caller gets the one error shape and the request id."""
    rid = getattr(request, "request_id", "")
    body = {
        "error": {
            "code": "server_error",
            "message": _("Internal error: give the administrator the request number %(rid)s.") % {"rid": rid},
        }
    }
    if request.path.startswith("/api/"):
        return JsonResponse(body, status=500)
    from django.http import HttpResponseServerError

    return HttpResponseServerError(
        f"<!doctype html><meta charset=utf-8><title>500</title><h1>500</h1><p>{body['error']['message']}</p>"
    )
