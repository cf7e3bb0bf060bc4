"""Tests, supplies and counselling, the doctor's list and the daily report: pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiedao.control import actions
from jiedao.control.choices import (
    OPEN_STATUSES,
    OPEN_SUPPLY_STATUSES,
    CaseStatus,
    SupplyKind,
    SupplyStatus,
    TestResult,
)
from jiedao.control.queries import (
    ATTENTION_HOURS,
    ATTENTION_ROLES,
    CHECKIN_ROLES,
    MANAGE_ROLES,
    READ_ROLES,
    SUPPLY_ROLES,
    access_case,
    access_supply,
    attention_checkins,
    can_in_area,
    cases_visible_to,
    supplies_visible_to,
)
from jiedao.core.decorators import role_required
from jiedao.core.errors import Forbidden, JiedaoError
from jiedao.core.htmx import render_page
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing, sorted_as_listed
from jiedao.org.choices import Role
from jiedao.org.models import User
from jiedao.registry.filters import _int
from jiedao.registry.queries import communities_for

SUPPLY_READ = (*SUPPLY_ROLES, Role.AUDITOR)
SUPPLY_SORTS = {"created": "created_at", "status": "status", "kind": "kind"}


# ---- the case page's cards -----------------------------------------------------------------------


def case_context(request: HttpRequest, case: Any) -> dict[str, Any]:
    """What the case page's tests and supplies cards show."""
    today = timezone.localdate()
    results = {t.test_date: t for t in case.tests.all()}
    days = actions.test_days(case)
    rows = [
        {"date": d, "number": (d - case.start_date).days + 1, "test": results.get(d), "due": d <= today}
        for d in days
    ]
    extra = [t for d, t in sorted(results.items()) if d not in set(days)]  # tests outside the plan's days
    under = case.status in (CaseStatus.ACTIVE, CaseStatus.MONITORING)
    may_record = under and can_in_area(request.user, CHECKIN_ROLES, case)
    return {
        "test_rows": rows,
        "extra_tests": extra,
        "positive": any(t.result == TestResult.POSITIVE for t in results.values()),
        "can_record_test": may_record,
        # Days that have come and still need a result (an invalid one is tested again).
        "test_date_choices": [
            d
            for d in days
            if case.start_date <= d <= today and (d not in results or results[d].result == TestResult.INVALID)
        ]
        or ([today] if not days and may_record and case.start_date <= today <= case.end_date else []),
        "result_choices": TestResult.choices,
        "supplies": list(case.supply_requests.select_related("assignee")),
        "can_request_supply": case.is_open and can_in_area(request.user, CHECKIN_ROLES, case),
        "supply_kinds": SupplyKind.choices,
    }


@role_required(*CHECKIN_ROLES)
@require_POST
def record_test(request: HttpRequest, pk: int) -> HttpResponse:
    case = access_case(request.user, pk)
    try:
        try:
            day = dt.date.fromisoformat(str(request.POST.get("test_date") or "")[:10])
        except ValueError:
            raise JiedaoError(_("Choose the test day."))
        test = actions.do_record_test(
            actor=request.user, case=case, test_date=day, result=str(request.POST.get("result") or ""),
            lab=str(request.POST.get("lab") or ""),
        )  # fmt: skip
        if test.result == TestResult.POSITIVE:
            messages.warning(request, _("Positive: the command centre and the doctor have been alerted."))
        else:
            messages.success(request, _("Test result recorded."))
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return redirect("control:case", pk=case.pk)


@role_required(*CHECKIN_ROLES)
@require_POST
def request_supply(request: HttpRequest, pk: int) -> HttpResponse:
    case = access_case(request.user, pk)
    try:
        req = actions.do_request_supply(
            actor=request.user, case=case, kind=str(request.POST.get("kind") or ""),
            detail=str(request.POST.get("detail") or ""), urgent=bool(request.POST.get("urgent")),
        )  # fmt: skip
        who = req.assignee or (Role(req.work_item.role).label if req.work_item and req.work_item.role else "")
        messages.success(request, _("Request filed: %(who)s sees it on their Today page.") % {"who": who})
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return redirect("control:case", pk=case.pk)


# ---- supplies and counselling --------------------------------------------------------------------


def _supply_filters(request: HttpRequest) -> dict[str, Any]:
    g = request.GET
    status = str(g.get("status") or "open")
    return {
        "status": status if status in SupplyStatus.values or status in ("open", "all") else "open",
        "kind": str(g.get("kind") or "") if g.get("kind") in SupplyKind.values else "",
        "urgent": str(g.get("urgent") or "") in ("1", "on"),
        "mine": str(g.get("mine") or "") in ("1", "on"),
        "community": _int(g.get("community")),
    }


def _filtered_supplies(request: HttpRequest, f: dict[str, Any]) -> Any:
    qs = supplies_visible_to(request.user)
    if f["status"] == "open":
        qs = qs.filter(status__in=OPEN_SUPPLY_STATUSES)
    elif f["status"] != "all":
        qs = qs.filter(status=f["status"])
    if f["kind"]:
        qs = qs.filter(kind=f["kind"])
    if f["urgent"]:
        qs = qs.filter(urgent=True)
    if f["mine"]:
        qs = qs.filter(assignee_id=request.user.pk)
    if f["community"]:
        qs = qs.filter(community_id=f["community"])
    return qs


@role_required(*SUPPLY_READ)
def supplies(request: HttpRequest) -> HttpResponse:
    f = _supply_filters(request)
    lst = listing(request, _filtered_supplies(request, f), sortable=SUPPLY_SORTS, default_sort="created")
    context = {
        "list": lst,
        "f": f,
        "statuses": SupplyStatus.choices,
        "kinds": SupplyKind.choices,
        "communities": list(communities_for(request.user, SUPPLY_READ)),
        "now": timezone.now(),
    }
    return render_page(request, "control/supplies.html", "control/_supplies_table.html", context)


@role_required(*SUPPLY_READ)
def supplies_export(request: HttpRequest) -> HttpResponse:
    from jiedao.control.exports import supplies_xlsx
    from jiedao.core import audit

    f = _supply_filters(request)
    qs = sorted_as_listed(
        request, _filtered_supplies(request, f), sortable=SUPPLY_SORTS, default_sort="created"
    )
    ledger = supplies_xlsx(qs)
    audit.record(actor=request.user, action="control.export_supplies", object_type="control.supplyrequest",
                 changes={"filters": f, "rows": ledger.rows})  # fmt: skip
    return xlsx_response(stamped("control-supplies"), ledger.data)


@role_required(*SUPPLY_READ)
def supply(request: HttpRequest, pk: int) -> HttpResponse:
    req = access_supply(request.user, pk)
    user: Any = request.user
    manage = can_in_area(user, MANAGE_ROLES, req)
    context = {
        "req": req,
        "can_serve": req.is_open and actions.may_serve(user, req),
        "can_assign": req.is_open and manage,
        "assignees": list(
            User.objects.filter(
                is_active=True,
                is_service_account=False,
                assignments__active=True,
                assignments__role__in=SUPPLY_ROLES,
                assignments__community_id=req.community_id or 0,
            )
            .distinct()
            .order_by("username")[:100]
        )
        if req.is_open and manage
        else [],
        "show_case": can_in_area(user, READ_ROLES, req),
    }
    return render(request, "control/supply.html", context)


def _supply_act(request: HttpRequest, pk: int, act: Any, done: str, serve: bool = True) -> HttpResponse:
    req = access_supply(request.user, pk)
    if serve and not actions.may_serve(request.user, req):
        raise Forbidden(_("Only the person it is assigned to or the community office can do this."))
    try:
        act(req)
        messages.success(request, done)
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return redirect("control:supply", pk=req.pk)


@role_required(*SUPPLY_ROLES)
@require_POST
def supply_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = str(request.POST.get("outcome") or "")
    return _supply_act(
        request,
        pk,
        lambda r: actions.do_deliver_supply(actor=request.user, req=r, outcome=outcome),
        _("Delivered."),
    )


@role_required(*SUPPLY_ROLES)
@require_POST
def supply_hold(request: HttpRequest, pk: int) -> HttpResponse:
    reason = str(request.POST.get("reason") or "")
    return _supply_act(
        request, pk, lambda r: actions.do_hold_supply(actor=request.user, req=r, reason=reason), _("On hold.")
    )


@role_required(*MANAGE_ROLES)
@require_POST
def supply_assign(request: HttpRequest, pk: int) -> HttpResponse:
    raw = str(request.POST.get("assignee") or "")
    who = (
        User.objects.filter(pk=int(raw)).first()
        if raw.isascii() and raw.isdigit() and len(raw) < 19
        else None
    )
    return _supply_act(
        request,
        pk,
        lambda r: actions.do_assign_supply(actor=request.user, req=r, assignee=who),
        _("Assigned."),
    )


# ---- the doctor's list: missed and abnormal check-ins --------------------------------------------


@role_required(*ATTENTION_ROLES)
def attention(request: HttpRequest) -> HttpResponse:
    from jiedao.control.checkins import SYMPTOMS

    kind = str(request.GET.get("kind") or "")
    qs = attention_checkins(request.user)
    if kind == "missed":
        qs = qs.filter(temperature__isnull=True)
    elif kind == "abnormal":
        qs = qs.filter(abnormal=True)
    community = _int(request.GET.get("community"))
    if community:
        qs = qs.filter(case__community_id=community)
    lst = listing(request, qs, sortable={"slot": "slot_at"}, default_sort="-slot")
    rows = [(ck, [str(SYMPTOMS[s]) for s in ck.symptoms if s in SYMPTOMS]) for ck in lst.rows]
    context = {
        "list": lst,
        "rows": rows,
        "kind": kind,
        "community": community,
        "communities": list(communities_for(request.user, ATTENTION_ROLES)),
        "hours": ATTENTION_HOURS,
    }
    return render_page(request, "control/attention.html", "control/_attention_table.html", context)


# ---- the daily report ----------------------------------------------------------------------------


def report_rows(qs: Any, today: dt.date) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Per community: open cases by where they stand, past their end, started and released today. A
    fixed number of queries."""
    from jiedao.protocols.choices import MeasureType

    keys = ("pending", "central", "home", "monitoring", "other", "past_end", "started", "released", "open")
    rows: dict[Any, dict[str, Any]] = {}

    def row(cid: Any, name: str) -> dict[str, Any]:
        return rows.setdefault(cid, {"community": name or "—", "community_id": cid, **dict.fromkeys(keys, 0)})

    grouped = (
        qs.filter(status__in=OPEN_STATUSES)
        .values("community_id", "community__name", "status", "measure_type")
        .annotate(n=Count("pk"))
    )
    for g in grouped:
        r = row(g["community_id"], g["community__name"])
        r["open"] += g["n"]
        if g["status"] == CaseStatus.PENDING:
            r["pending"] += g["n"]
        elif g["status"] == CaseStatus.MONITORING or g["measure_type"] == MeasureType.HOME_MONITORING:
            r["monitoring"] += g["n"]
        elif g["measure_type"] == MeasureType.CENTRAL_QUARANTINE:
            r["central"] += g["n"]
        elif g["measure_type"] == MeasureType.HOME_QUARANTINE:
            r["home"] += g["n"]
        else:
            r["other"] += g["n"]
    for key, sub in (
        ("past_end", qs.filter(status__in=OPEN_STATUSES, end_date__lt=today)),
        ("started", qs.exclude(status=CaseStatus.CANCELLED).filter(start_date=today)),
        ("released", qs.filter(status=CaseStatus.RELEASED, released_at__date=today)),
    ):
        for g in sub.values("community_id", "community__name").annotate(n=Count("pk")):
            row(g["community_id"], g["community__name"])[key] += g["n"]
    out = sorted(rows.values(), key=lambda r: r["community"])
    total = {k: sum(r[k] for r in out) for k in keys}
    return out, total


def days_histogram(qs: Any, today: dt.date, longest: int = 21) -> dict[str, list[int]]:
    """Cases under a measure by the day of it they are on (day 1 = their first day)."""
    counts = dict(
        qs.filter(status__in=(CaseStatus.ACTIVE, CaseStatus.MONITORING), start_date__lte=today)
        .values("start_date")
        .annotate(n=Count("pk"))
        .values_list("start_date", "n")
    )
    by_day = [0] * longest
    for start, n in counts.items():
        day = (today - start).days + 1
        by_day[min(day, longest) - 1] += n
    return {"days": list(range(1, longest + 1)), "counts": by_day}


@role_required(*READ_ROLES)
def report(request: HttpRequest) -> HttpResponse:
    from jiedao.control.exports import daily_counts

    today = timezone.localdate()
    qs = cases_visible_to(request.user)
    rows, total = report_rows(qs, today)
    context = {
        "rows": rows,
        "total": total,
        "today": today,
        "histogram": days_histogram(qs, today),
        "daily": daily_counts(qs),
        "series_labels": [str(_("Under control")), str(_("Started")), str(_("Released"))],
    }
    return render(request, "control/report.html", context)


@role_required(*READ_ROLES)
def report_export(request: HttpRequest) -> HttpResponse:
    from jiedao.control.exports import report_xlsx
    from jiedao.core import audit

    today = timezone.localdate()
    rows, total = report_rows(cases_visible_to(request.user), today)
    data = report_xlsx(rows, total, today)
    audit.record(actor=request.user, action="control.export_report", object_type="control.controlcase",
                 changes={"date": today, "rows": len(rows)})  # fmt: skip
    return xlsx_response(stamped("control-daily-report"), data)


urlpatterns: list[URLPattern] = [
    path("cases/<int:pk>/test", record_test, name="test"),
    path("cases/<int:pk>/supply", request_supply, name="supply_request"),
    path("supplies/", supplies, name="supplies"),
    path("supplies/export", supplies_export, name="supplies_export"),
    path("supplies/<int:pk>/", supply, name="supply"),
    path("supplies/<int:pk>/deliver", supply_deliver, name="supply_deliver"),
    path("supplies/<int:pk>/hold", supply_hold, name="supply_hold"),
    path("supplies/<int:pk>/assign", supply_assign, name="supply_assign"),
    path("attention/", attention, name="attention"),
    path("report/", report, name="report"),
    path("report/export", report_export, name="report_export"),
]
