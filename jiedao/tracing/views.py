"""Trace pages: the runs and the positive cases to start from, the start form, a run's progress and
its contacts by place and time, the push to screening and the Excel ledger."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jiedao.core.decorators import role_required
from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing, sorted_as_listed
from jiedao.places.models import VenueCheckin
from jiedao.tracing.actions.runs import (
    PUSH_ORDER,
    default_onset,
    do_export_contacts,
    do_push_trace_contacts,
    do_start_trace,
    identities,
)
from jiedao.tracing.choices import Relation
from jiedao.tracing.forms import StartTraceForm
from jiedao.tracing.models import TraceContact, TraceRun
from jiedao.tracing.queries import (
    READ_ROLES,
    RUN_ROLES,
    access_index_case,
    access_run,
    contacts_of,
    positive_cases,
    runs_visible_to,
    subdistrict_wide,
)

CONTACT_SORTS = {
    "place": "place_key",
    "time": "overlap_start",
    "minutes": "minutes",
    "relation": "relation",
}
RUN_SORTS = {"created": "created_at"}
CHART_PLACES = 12


def _require_reader(request: HttpRequest) -> None:
    if not subdistrict_wide(request.user, READ_ROLES):
        raise Forbidden(_("Tracing is the subdistrict command centre's."))


@role_required()
def runs(request: HttpRequest) -> HttpResponse:
    _require_reader(request)
    page = listing(request, runs_visible_to(request.user), sortable=RUN_SORTS, default_sort="-created")
    can_run = subdistrict_wide(request.user, RUN_ROLES)
    cases = list(positive_cases()[:20]) if can_run else []
    started = set(
        TraceRun.objects.filter(case_id__in=[c.pk for c in cases]).values_list("case_id", flat=True)
    )
    return render(
        request,
        "tracing/runs.html",
        {"list": page, "cases": cases, "traced": started, "can_run": can_run},
    )


@role_required()
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, case_id: int) -> HttpResponse:
    case = access_index_case(request.user, case_id)
    onset = timezone.localtime(default_onset(case))
    form = StartTraceForm(
        request.POST or None,
        initial={"onset": onset.strftime("%Y-%m-%dT%H:%M"), "lookback_days": 4},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = do_start_trace(
                actor=request.user,
                case=case,
                onset=data["onset"],
                lookback_days=data["lookback_days"],
                secondary=data["secondary"],
                companions=data["companions"],
            )
        except InvalidInput as exc:
            attach_error(form, exc)
        else:
            return redirect(run.get_absolute_url())
    return render(request, "tracing/start.html", {"case": case, "form": form})


def _filters(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET.get(k, "").strip() for k in ("relation", "place", "q")}


def _filtered(run: TraceRun, f: dict[str, str]) -> QuerySet[TraceContact]:
    qs = contacts_of(run)
    if f["relation"] in Relation.values:
        qs = qs.filter(relation=f["relation"])
    if f["place"]:
        qs = qs.filter(place_key=f["place"])
    if f["q"]:
        qs = qs.filter(Q(person__name__icontains=f["q"]) | Q(place__name__icontains=f["q"]))
    return qs


def _with_visitors(rows: list[TraceContact]) -> list[TraceContact]:
    """Contacts not on the register but known from a venue check-in get `visitor` (name, masked ID):
    one query for the page."""
    keys = [c.contact_key for c in rows if c.person_id is None]
    found = {
        v.person_key: v
        for v in VenueCheckin.objects.filter(person_key__in=keys).only("person_key", "name", "id_masked")
    } if keys else {}  # fmt: skip
    for c in rows:
        c.visitor = found.get(c.contact_key)  # type: ignore[attr-defined]
    return rows


def _by_place(run: TraceRun) -> dict[str, Any]:
    """The chart: contacts at the busiest places, by relation."""
    counts = (
        run.contacts.values("place_key", "relation")
        .annotate(n=Count("contact_key", distinct=True))
        .order_by("place_key")
    )
    totals: dict[str, dict[str, int]] = {}
    for row in counts:
        totals.setdefault(row["place_key"], {})[row["relation"]] = row["n"]
    top = sorted(totals, key=lambda k: -sum(totals[k].values()))[:CHART_PLACES]
    names = dict(
        run.contacts.filter(place_key__in=top, place__isnull=False)
        .values_list("place_key", "place__name")
        .distinct()
    )
    top.reverse()  # biggest at the top of a horizontal bar chart
    return {
        "places": [names.get(k, k) for k in top],
        "series": [
            {"name": str(rel.label), "key": rel.value, "data": [totals[k].get(rel.value, 0) for k in top]}
            for rel in PUSH_ORDER
        ],
    }


@role_required()
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_run(request.user, run_id)
    if is_htmx(request) and request.GET.get("part") == "progress":
        if run.is_active:
            return render(request, "tracing/_progress.html", {"run": run})
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"  # finished: show the contacts
        return response
    f = _filters(request)
    context: dict[str, Any] = {
        "run": run,
        "filters": f,
        "can_run": subdistrict_wide(request.user, RUN_ROLES),
        "index_cases": [
            {"name": c.get("name") or c["person_key"][:8], "onset": dt.datetime.fromisoformat(c["onset"])}
            for c in run.index_cases
        ],
    }
    if run.status == "done":
        page = listing(request, _filtered(run, f), sortable=CONTACT_SORTS, default_sort="place")
        page.page.object_list = _with_visitors(list(page.page.object_list))
        context["list"] = page
        context["relations"] = Relation.choices
        context["places"] = list(
            run.contacts.values_list("place_key", "place__name").distinct().order_by("place_key")[:500]
        )
        context["chart"] = _by_place(run)
        context["chart_json"] = json.dumps(context["chart"], ensure_ascii=False)
        context["lists"] = list(run.pushed_lists.all())
    if is_htmx(request) and run.status == "done":  # the filters and pager swap the list only
        return render(request, "tracing/_contacts.html", context)
    return render(request, "tracing/run.html", context)


@role_required()
@require_http_methods(["GET", "POST"])
def push(request: HttpRequest, run_id: int) -> HttpResponse:
    """GET: what pushing would do (how many per list, who cannot be identified); POST: push."""
    run = access_run(request.user, run_id)
    if not subdistrict_wide(request.user, RUN_ROLES):
        raise Forbidden(_("Only the subdistrict command centre runs traces."))
    if request.method == "POST":
        try:
            summary = do_push_trace_contacts(actor=request.user, run=run)
        except (Conflict, InvalidInput) as exc:
            messages.error(request, exc.message)
            return redirect(run.get_absolute_url())
        messages.success(
            request,
            _("%(created)s contacts pushed to screening in %(lists)s lists (%(dupes)s were already there).")
            % {"created": summary.created, "lists": len(summary.lists), "dupes": summary.duplicates},
        )
        return redirect(run.get_absolute_url())
    keys = sorted(set(run.contacts.values_list("contact_key", flat=True)))
    known = identities(keys)
    per_relation: dict[str, int] = {}
    seen: set[str] = set()
    for rel in PUSH_ORDER:
        ks = set(run.contacts.filter(relation=rel.value).values_list("contact_key", flat=True)) - seen
        seen |= ks
        per_relation[str(rel.label)] = len([k for k in ks if k in known])
    return render(
        request,
        "tracing/push.html",
        {
            "run": run,
            "per_relation": per_relation,
            "total": sum(per_relation.values()),
            "unidentified": len(keys) - len(known),
        },
    )


@role_required()
def export(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_run(request.user, run_id)
    f = _filters(request)
    qs = sorted_as_listed(request, _filtered(run, f), sortable=CONTACT_SORTS, default_sort="place")
    data = do_export_contacts(actor=request.user, run=run, queryset=qs, filters=f)
    return xlsx_response(stamped(f"trace-{run.pk}"), data)


def case_card(request: HttpRequest, case: Any) -> str | None:
    """The trace card of the control case page: its runs, and a button to start one."""
    from django.template.loader import render_to_string

    user: Any = request.user
    if not subdistrict_wide(user, READ_ROLES):
        return None
    runs_of_case = list(TraceRun.objects.filter(case_id=case.pk).order_by("-created_at", "-pk")[:5])
    can_run = subdistrict_wide(user, RUN_ROLES)
    if not runs_of_case and not can_run:
        return None
    return render_to_string(
        "tracing/_case_card.html",
        {
            "case": case,
            "runs": runs_of_case,
            "can_run": can_run,
            "start_url": reverse("tracing:start", args=[case.pk]),
        },
        request=request,
    )
