"""A round's planning pages: sites by compound, exemptions with their reasons, the grids' work items
for the missing, and reconciling the tubes sent with those the labs received, tested and reported."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiedao.control.queries import role_scope
from jiedao.core import audit
from jiedao.core.decorators import role_required
from jiedao.core.errors import Forbidden, InvalidInput, NotFound
from jiedao.core.htmx import is_htmx
from jiedao.core.ledger import Column, stamped, write_xlsx, xlsx_response
from jiedao.core.listing import listing
from jiedao.nat import coverage
from jiedao.nat.choices import ExemptionReason
from jiedao.nat.queries import MANAGE_ROLES, access_round, can_manage_in, parse_id
from jiedao.nat.rounds import (
    EXEMPT_ROLES,
    assignment_rows,
    compounds_in_scope,
    do_assign_nearest_sites,
    do_assign_site,
    do_exempt_person,
    do_issue_missing_work_items,
    do_lift_exemption,
    do_set_missing_schedule,
    next_missing_send,
)
from jiedao.org.choices import Role
from jiedao.registry.models import Person

ROUND_ROLES = (Role.COMMAND, Role.AUDITOR, Role.COMMUNITY_STAFF, Role.GRID_WORKER)


def _scope(request: HttpRequest) -> Any:
    return role_scope(request.user, ROUND_ROLES)


@role_required(*ROUND_ROLES)
@require_http_methods(["GET", "POST"])
def assignments(request: HttpRequest, pk: int) -> HttpResponse:
    """Each compound in scope with the site its residents go to; the offices change it, the command
    centre fills the gaps with the nearest open site; Excel export."""
    rnd = access_round(request.user, pk)
    if request.method == "POST":
        if not request.user.has_role(*MANAGE_ROLES):  # type: ignore[union-attr]
            raise Forbidden(_("Only the command centre or the community office assigns sites."))
        try:
            if request.POST.get("nearest") == "1":
                counts = do_assign_nearest_sites(actor=request.user, rnd=rnd)
                messages.success(
                    request,
                    _(
                        "%(assigned)s compounds assigned to their nearest site; %(no_coordinates)s have no location."
                    )
                    % counts,
                )
            else:
                compound = compounds_in_scope(rnd).filter(pk=_int(request.POST.get("compound"))).first()
                if compound is None or not can_manage_in(request.user, compound.community_id):
                    raise NotFound(_("Not found."))
                raw_site = (request.POST.get("site") or "").strip()
                site_pk = _int(raw_site)
                site = rnd.sites.filter(pk=site_pk).first() if raw_site else None
                if raw_site and site is None:
                    raise InvalidInput(_("This site does not sample for the round."), field="site")
                do_assign_site(actor=request.user, rnd=rnd, compound=compound, site=site)
                messages.success(request, _("Saved."))
        except InvalidInput as exc:
            messages.error(request, exc.message)
        return redirect("nat:assignments", rnd.pk)
    rows = assignment_rows(rnd, _scope(request))
    q = request.GET.get("q", "").strip()
    if q:
        rows = [r for r in rows if q in r["compound"].name or (r["site"] and q in r["site"].name)]
    if request.GET.get("unassigned") == "1":
        rows = [r for r in rows if r["site"] is None]
    if request.GET.get("export") == "1":
        columns = [Column(_("Community"), 12), Column(_("Compound"), 20), Column(_("Residents"), 10),
                   Column(_("Sampling site"), 30)]  # fmt: skip
        ledger = write_xlsx(
            _("Sites by compound"), columns,
            ([r["compound"].community.name if r["compound"].community else "", r["compound"].name, r["residents"],
              r["site"].name if r["site"] else ""] for r in rows),
        )  # fmt: skip
        audit.record(
            actor=request.user, action="nat.export_assignments", obj=rnd, changes={"rows": ledger.rows}
        )
        return xlsx_response(stamped(f"sites-by-compound-{rnd.pk}"), ledger.data)
    sites = list(rnd.sites.order_by("name").only("pk", "name", "community_id", "status"))
    return render(
        request,
        "nat/assignments.html",
        {
            "round": rnd, "rows": rows, "sites": sites, "q": q,
            "unassigned": sum(1 for r in rows if r["site"] is None),
            "can_edit": {r["compound"].pk for r in rows if can_manage_in(request.user, r["compound"].community_id)},
            "can_fill": can_manage_in(request.user, None),
        },
    )  # fmt: skip


def _int(raw: Any) -> int:
    return parse_id(raw) or 0


@role_required(*EXEMPT_ROLES)
@require_POST
def exempt(request: HttpRequest, pk: int) -> HttpResponse:
    """Exempt one resident of the caller's area from the round, with a reason (from the missing list)."""
    rnd = access_round(request.user, pk)
    person = Person.objects.filter(pk=_int(request.POST.get("person"))).first()
    if person is None:
        raise NotFound(_("Not found."))
    error = ""
    exemption = None
    try:
        exemption = do_exempt_person(
            actor=request.user, rnd=rnd, person=person, reason=request.POST.get("reason", ""),
            note=request.POST.get("note", ""),
        )  # fmt: skip
    except InvalidInput as exc:
        error = exc.message
    if is_htmx(request):
        return render(
            request,
            "nat/_exempt_result.html",
            {"round": rnd, "person": person, "exemption": exemption, "error": error},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Exempt: %(name)s.") % {"name": person.name})
    return redirect(f"/nat/rounds/{rnd.pk}/missing/?{request.POST.get('back', '')}")


@role_required(*ROUND_ROLES)
def exemptions(request: HttpRequest, pk: int) -> HttpResponse:
    """The round's exemptions in the caller's area, with their reasons and home-sampling items."""
    rnd = access_round(request.user, pk)
    qs = coverage.exempt(rnd, _scope(request))
    reason = request.GET.get("reason", "")
    if reason in ExemptionReason.values:
        qs = qs.filter(reason=reason)
    if request.GET.get("export") == "1":
        columns = [Column(_("Name"), 10), Column(_("Document number"), 22, text=True), Column(_("Reason"), 16),
                   Column(_("Note"), 30)]  # fmt: skip
        ledger = write_xlsx(
            _("Exemptions"), columns,
            ([e.person.name, e.person.id_masked, e.get_reason_display(), e.note] for e in qs.iterator(chunk_size=2000)),
        )  # fmt: skip
        audit.record(
            actor=request.user, action="nat.export_exemptions", obj=rnd, changes={"rows": ledger.rows}
        )
        return xlsx_response(stamped(f"exemptions-{rnd.pk}"), ledger.data)
    page = listing(request, qs, sortable={"name": "person__name"}, default_sort="name")
    can_lift = request.user.has_role(*EXEMPT_ROLES)  # type: ignore[union-attr]
    return render(
        request,
        "nat/exemptions.html",
        {
            "round": rnd,
            "list": page,
            "reason": reason,
            "reasons": ExemptionReason.choices,
            "can_lift": can_lift,
        },
    )


@role_required(*EXEMPT_ROLES)
@require_POST
def exemption_lift(request: HttpRequest, pk: int, exemption_pk: int) -> HttpResponse:
    rnd = access_round(request.user, pk)
    found = coverage.exempt(rnd, role_scope(request.user, EXEMPT_ROLES)).filter(pk=exemption_pk).first()
    if found is None:
        raise NotFound(_("Not found."))
    try:
        do_lift_exemption(actor=request.user, exemption=found)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Exemption lifted: %(name)s is expected at a site again.") % {"name": found.person.name},
        )
    return redirect("nat:exemptions", rnd.pk)


@role_required(Role.COMMAND)
@require_POST
def issue_missing(request: HttpRequest, pk: int) -> HttpResponse:
    """Send each grid a work item for its residents not yet sampled."""
    rnd = access_round(request.user, pk)
    try:
        counts = do_issue_missing_work_items(
            actor=request.user, rnd=rnd, due_in_hours=_int(request.POST.get("hours")) or 4
        )
    except (InvalidInput, Forbidden) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Work items for %(people)s residents: %(created)s grids newly, %(updated)s brought up to date.")
            % counts,
        )
    return redirect("nat:round", rnd.pk)


@role_required(Role.COMMAND)
@require_POST
def missing_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the missing lists every N hours while the round is under way, or by hand only."""
    rnd = access_round(request.user, pk)
    raw = request.POST.get("every", "")
    try:
        rnd = do_set_missing_schedule(actor=request.user, rnd=rnd, every_hours=_int(raw) if raw else None)
    except (InvalidInput, Forbidden) as exc:
        messages.error(request, exc.message)
    else:
        due = next_missing_send(rnd)
        messages.success(
            request,
            _("The missing lists go out by themselves next at %(when)s.")
            % {"when": timezone.localtime(due).strftime("%m-%d %H:%M")}
            if due
            else _("The missing lists go out when you send them."),
        )
    return redirect("nat:round", rnd.pk)


@role_required(Role.COMMAND, Role.AUDITOR, Role.COMMUNITY_STAFF)
def reconcile(request: HttpRequest, pk: int) -> HttpResponse:
    """Tubes sent = received = tested = reported, per site, and the tubes in each gap (Excel export)."""
    rnd = access_round(request.user, pk)
    gap = request.GET.get("gap", "not_received")
    if gap not in ("not_received", "not_tested", "invalid"):
        gap = "not_received"
    tubes = coverage.unreconciled_tubes(rnd, gap)
    if request.GET.get("export") == "1":
        columns = [Column(_("Barcode"), 18, text=True), Column(_("Sampling site"), 30), Column(_("Samples"), 8),
                   Column(_("Sealed"), 18), Column(_("Received"), 18)]  # fmt: skip
        ledger = write_xlsx(
            _("Tubes to chase"), columns,
            ([t.barcode, t.site.name, t.members, _fmt(t.closed_at), _fmt(t.received_at)] for t in tubes.iterator()),
        )  # fmt: skip
        audit.record(
            actor=request.user, action="nat.export_gaps", obj=rnd, changes={"gap": gap, "rows": ledger.rows}
        )
        return xlsx_response(stamped(f"tubes-{gap}-{rnd.pk}"), ledger.data)
    page = listing(request, tubes, sortable={"sealed": "closed_at"}, default_sort="sealed")
    return render(
        request,
        "nat/reconcile.html",
        {"round": rnd, "rec": coverage.reconciliation(rnd), "gap": gap, "list": page},
    )


def _fmt(when: Any) -> str:
    from django.utils import timezone

    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M") if when else ""
