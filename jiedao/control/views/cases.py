"""Control's pages: the case ledger, key persons waiting for a case, a case with its calendar, and the
status changes (open, start, change the measure with a preview, cancel)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiedao.control import actions, checkins, teams
from jiedao.control.choices import OPEN_STATUSES, OPEN_TRANSFER_STATUSES, CaseStatus
from jiedao.control.exports import daily_counts
from jiedao.control.filters import CASE_SORTS, CaseFilters
from jiedao.control.forms import BasisForm, MeasureForm
from jiedao.control.hooks import render_case_cards
from jiedao.control.plans import calendar
from jiedao.control.queries import (
    ATTENTION_ROLES,
    CHECKIN_ROLES,
    MANAGE_ROLES,
    READ_ROLES,
    access_case,
    can_in_area,
    cases_visible_to,
    waiting_for_a_case,
)
from jiedao.control.views import care, transfers
from jiedao.core.decorators import role_required
from jiedao.core.errors import JiedaoError, NotFound
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx, render_page
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing, sorted_as_listed
from jiedao.org.models import User
from jiedao.protocols.choices import MeasureType
from jiedao.registry.queries import communities_for, grids_for
from jiedao.screening.exports import category_label


def _labelled(cases: Any) -> list[tuple[Any, str]]:
    return [(c, category_label(c.protocol_key, c.category)) for c in cases]


@role_required(*READ_ROLES)
def cases(request: HttpRequest) -> HttpResponse:
    filters = CaseFilters.from_params(request.GET)
    qs = filters.apply(cases_visible_to(request.user))
    lst = listing(request, qs, sortable=CASE_SORTS, default_sort="end")
    context: dict[str, Any] = {
        "list": lst,
        "filters": filters,
        "rows": _labelled(lst.rows),
        "today": timezone.localdate(),
    }
    if not is_htmx(request):
        context.update(
            {
                "statuses": CaseStatus.choices,
                "measures": [(k, v) for k, v in MeasureType.choices if k != MeasureType.NONE],
                "communities": list(communities_for(request.user, READ_ROLES)),
                "grids": list(grids_for(request.user, READ_ROLES)),
                "daily": daily_counts(filters.apply(cases_visible_to(request.user))),
                "series_labels": [str(_("Under control")), str(_("Started")), str(_("Released"))],
                "can_attention": request.user.has_role(*ATTENTION_ROLES),  # type: ignore[union-attr]
                "past_end": cases_visible_to(request.user)
                .filter(status__in=OPEN_STATUSES, end_date__lt=timezone.localdate())
                .count(),
                "waiting": waiting_for_a_case(request.user).count()
                if request.user.has_role(*MANAGE_ROLES)  # type: ignore[union-attr]
                else None,
            }
        )
    return render_page(request, "control/cases.html", "control/_cases_table.html", context)


@role_required(*READ_ROLES)
def cases_export(request: HttpRequest) -> HttpResponse:
    filters = CaseFilters.from_params(request.GET)
    qs = sorted_as_listed(
        request, filters.apply(cases_visible_to(request.user)), sortable=CASE_SORTS, default_sort="end"
    )
    data = actions.do_export_cases(actor=request.user, queryset=qs, filters=filters.as_params())
    return xlsx_response(stamped("control-cases"), data)


@role_required(*MANAGE_ROLES)
def to_open(request: HttpRequest) -> HttpResponse:
    qs = waiting_for_a_case(request.user)
    lst = listing(
        request, qs, sortable={"start": "measure_start", "verified": "verified_at"}, default_sort="start"
    )
    rows = [(kp, category_label(kp.protocol_key, kp.classified_category)) for kp in lst.rows]
    return render_page(
        request, "control/to_open.html", "control/_to_open_table.html", {"list": lst, "rows": rows}
    )


@role_required(*MANAGE_ROLES)
@require_POST
def open_case(request: HttpRequest, key_person_pk: int) -> HttpResponse:
    kp = waiting_for_a_case(request.user).filter(pk=key_person_pk).first()
    if kp is None:
        raise NotFound(_("Not found."))
    try:
        case = actions.do_open_case(actor=request.user, key_person=kp)
    except JiedaoError as exc:
        messages.error(request, exc.message)
        return redirect("control:to_open")
    messages.success(
        request,
        _("%(name)s is under control until %(end)s.") % {"name": kp.person.name, "end": case.end_date},
    )
    return redirect("control:case", pk=case.pk)


def _case_context(request: HttpRequest, case: Any) -> dict[str, Any]:
    today = timezone.localdate()
    manage = can_in_area(request.user, MANAGE_ROLES, case)
    return {
        "case": case,
        "category": category_label(case.protocol_key, case.category),
        "days": calendar(case.plan),
        "today": today,
        "day_no": case.day_of(today),
        "changes": list(case.changes.select_related("created_by")),
        # A case on its way to a site starts when the site confirms the hand-over, not by hand.
        "can_start": manage
        and case.status == CaseStatus.PENDING
        and not case.transfers.filter(status__in=OPEN_TRANSFER_STATUSES).exists(),
        "checkins": list(case.checkins.select_related("created_by").order_by("-slot_at")[:60]),
        "chart": checkin_chart(case),
        "symptom_choices": list(checkins.SYMPTOMS.items()),
        "can_checkin": case.status in (CaseStatus.ACTIVE, CaseStatus.MONITORING)
        and can_in_area(request.user, CHECKIN_ROLES, case),
        "link": live_link_of(request, case) if manage else None,
        "team": team_rows(case, manage),
        "needs_team": teams.needs_team(case),
        "missing": [teams.slot_label(s) for s in teams.missing(case)]
        if case.is_open and teams.home_phase_ahead(case)
        else [],
        "release_blockers": actions.release_blockers(case, today) if manage and case.is_open else [],
        "can_release": manage and case.is_open and not actions.release_blockers(case, today),
        "can_change": manage and case.is_open,
        "basis_form": BasisForm(),
        "more_cards": render_case_cards(request, case),
        **transfers.case_context(request, case),
        **care.case_context(request, case),
    }


@role_required(*READ_ROLES)
def case(request: HttpRequest, pk: int) -> HttpResponse:
    c = access_case(request.user, pk)
    return render(request, "control/case.html", _case_context(request, c))


def checkin_chart(case: Any) -> dict[str, Any]:
    rows = list(
        case.checkins.filter(temperature__isnull=False)
        .order_by("slot_at")
        .values_list("slot_at", "temperature")
    )
    return {
        "x": [f"{timezone.localtime(t):%m-%d %H:%M}" for t, _v in rows],
        "y": [float(v) for _t, v in rows],
        "fever": float(checkins.FEVER),
    }


def live_link_of(request: HttpRequest, case: Any) -> dict[str, Any] | None:
    """The case's working check-in link, as a URL and a QR code, for the office to hand over."""
    from jiedao.places.qr import qr_svg_inline

    link = case.checkin_links.filter(revoked_at__isnull=True).order_by("-pk").first()
    if link is None or not link.is_live():
        return None
    path = reverse("checkin:form", args=[link.token])
    base = getattr(settings, "PUBLIC_URL", "") or ""
    url = base + path if base else request.build_absolute_uri(path)
    return {"url": url, "qr": mark_safe(qr_svg_inline(url)), "expires_at": link.expires_at}


@role_required(*CHECKIN_ROLES)
@require_POST
def record_checkin(request: HttpRequest, pk: int) -> HttpResponse:
    c = access_case(request.user, pk)
    try:
        actions.do_record_checkin(
            actor=request.user, case=c, temperature=request.POST.get("temperature"),
            symptoms=request.POST.getlist("symptoms"), note=request.POST.get("note", ""),
        )  # fmt: skip
        messages.success(request, _("Check-in recorded."))
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return redirect("control:case", pk=c.pk)


@role_required(*MANAGE_ROLES)
@require_POST
def issue_link(request: HttpRequest, pk: int) -> HttpResponse:
    c = access_case(request.user, pk)
    try:
        actions.do_issue_checkin_link(actor=request.user, case=c)
        messages.success(request, _("A new check-in link is ready: earlier ones no longer work."))
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return redirect("control:case", pk=c.pk)


@require_http_methods(["GET", "POST"])
def self_checkin(request: HttpRequest, token: str) -> HttpResponse:
    """The person's own check-in through their link: no account, nothing shown but the form."""
    try:
        link = actions.live_link(token)
    except JiedaoError as exc:
        return render(request, "control/self_checkin.html", {"gone": exc.message}, status=404)
    from jiedao.control.choices import SupplyKind

    context: dict[str, Any] = {
        "symptom_choices": list(checkins.SYMPTOMS.items()),
        "supply_kinds": SupplyKind.choices,
        "done": False,
    }
    status = 200
    if request.method == "POST" and request.POST.get("form") == "supply":
        try:
            actions.do_request_supply(
                actor=None, case=link.case, kind=str(request.POST.get("kind") or ""),
                detail=str(request.POST.get("detail") or ""), urgent=bool(request.POST.get("urgent")), by_self=True,
            )  # fmt: skip
            context["supply_done"] = True
        except JiedaoError as exc:
            context["supply_error"] = exc.message
            status = exc.status
    elif request.method == "POST":
        try:
            check = actions.do_record_checkin(
                actor=None, case=link.case, temperature=request.POST.get("temperature"),
                symptoms=request.POST.getlist("symptoms"), by_self=True,
            )  # fmt: skip
            context.update({"done": True, "abnormal": check.abnormal})
        except JiedaoError as exc:
            context["error"] = exc.message
            status = exc.status
    return render(request, "control/self_checkin.html", context, status=status)


def team_rows(case: Any, manage: bool) -> list[dict[str, Any]]:
    """Each slot of the care team: who fills it and, for the office, who could."""
    members = {m.slot: m.user for m in case.team.select_related("user")}
    return [
        {
            "slot": slot,
            "label": teams.slot_label(slot),
            "user": members.get(slot),
            "choices": list(teams.candidates(case, slot)[:50]) if manage and case.is_open else [],
        }
        for slot in teams.slots()
    ]


@role_required(*MANAGE_ROLES)
@require_POST
def team(request: HttpRequest, pk: int) -> HttpResponse:
    c = access_case(request.user, pk)
    members: dict[str, Any] = {}
    for slot in teams.slots():
        raw = str(request.POST.get(slot) or "")
        members[slot] = (
            User.objects.filter(pk=int(raw)).first()
            if raw.isascii() and raw.isdigit() and len(raw) < 19
            else None
        )
    try:
        actions.do_set_care_team(actor=request.user, case=c, members=members)
        messages.success(request, _("The care team is saved."))
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return redirect("control:case", pk=c.pk)


def _change_status(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    """A status change from the case page: the action with the posted basis, then back to the case."""
    c = access_case(request.user, pk)
    form = BasisForm(request.POST)
    try:
        if not form.is_valid():
            raise JiedaoError(_("State the basis: what justifies this change."))
        action(actor=request.user, case=c, basis=form.cleaned_data["basis"])
        messages.success(request, done)
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return redirect("control:case", pk=c.pk)


@role_required(*MANAGE_ROLES)
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    return _change_status(request, pk, actions.do_start_case, _("The measure has started."))


@role_required(*MANAGE_ROLES)
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    return _change_status(
        request, pk, actions.do_release_case, _("Released. Print the release notice for the person.")
    )


@role_required(*READ_ROLES)
def notice(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable release notice (解除隔离告知书) of a released case."""
    c = access_case(request.user, pk)
    if c.status != CaseStatus.RELEASED:
        raise NotFound(_("Not found."))
    from jiedao.org.models import Subdistrict

    context = {
        "case": c,
        "category": category_label(c.protocol_key, c.category),
        "release": c.changes.filter(to_status=CaseStatus.RELEASED).last(),
        "subdistrict": Subdistrict.objects.order_by("pk").first(),
    }
    return render(request, "control/notice.html", context)


@role_required(*MANAGE_ROLES)
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _change_status(request, pk, actions.do_cancel_case, _("The case is cancelled."))


@role_required(*MANAGE_ROLES)
@require_http_methods(["GET", "POST"])
def measure(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the measure: the new schedule is shown first; only the confirming POST applies it."""
    c = access_case(request.user, pk)
    if not can_in_area(request.user, MANAGE_ROLES, c) or not c.is_open:
        messages.info(request, _("This case cannot be changed."))
        return redirect("control:case", pk=c.pk)
    choices = actions.measure_choices(c.protocol_key)
    preview = None
    if request.method == "POST":
        form = MeasureForm(request.POST, choices=choices)
        if form.is_valid():
            d = form.cleaned_data
            try:
                if request.POST.get("confirm"):
                    actions.do_change_measure(
                        actor=request.user, case=c, category=d["category"], basis=d["basis"], start=d["start"]
                    )
                    messages.success(request, _("The measure is changed."))
                    return redirect("control:case", pk=c.pk)
                preview = actions.preview_measure(c, d["category"], d["start"])
            except JiedaoError as exc:
                attach_error(form, exc)
    else:
        form = MeasureForm(choices=choices, initial={"category": c.category, "start": c.start_date})
    context = {
        **_case_context(request, c),
        "form": form,
        "preview": calendar(preview) if preview else None,
        "preview_end": preview["phases"][-1]["end"] if preview else None,
    }
    return render(request, "control/measure.html", context)
