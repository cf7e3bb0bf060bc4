"""Quarantine sites and closed-loop transfers (闭环转运): the sites with their capacity, the transfer
card of the case page, the transfer page the escort works from in the vehicle, and the board of open
transfers with its Excel ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import ExpressionWrapper, F, IntegerField, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiedao.control.actions.transfers import (
    LATE_AFTER,
    STEPS,
    do_cancel_transfer,
    do_export_transfers,
    do_plan_transfer,
    do_save_site,
    do_transfer_step,
    is_late,
    with_occupancy,
)
from jiedao.control.choices import OPEN_TRANSFER_STATUSES, CaseStatus, SiteStatus, TransferStatus
from jiedao.control.forms_transfers import PlanTransferForm, SiteForm
from jiedao.control.models import QuarantineSite, Transfer
from jiedao.control.queries import (
    MANAGE_ROLES,
    READ_ROLES,
    TRANSFER_ROLES,
    access_case,
    access_transfer,
    can,
    can_in_area,
    transfers_visible_to,
)
from jiedao.core.decorators import role_required
from jiedao.core.errors import Conflict, InvalidInput, NotFound
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx, render_page
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing, sorted_as_listed
from jiedao.org.choices import Role
from jiedao.protocols.choices import MeasureType
from jiedao.registry.filters import _int
from jiedao.registry.queries import communities_for, grids_for

# The step that follows each status, and what its button says.
NEXT_STEP = {before: step for step, (before, _stamp) in STEPS.items()}
PER_PAGE_SITES = 50


# ---- reads (scoped like cases: community / grid) ---------------------------------------------------


def sites_with_room() -> QuerySet[QuarantineSite]:
    """Sites with their occupancy and `free` places (capacity less the people there and on the way)."""
    return with_occupancy(QuarantineSite.objects.all()).annotate(
        free=ExpressionWrapper(F("capacity") - F("occupied") - F("incoming"), output_field=IntegerField())
    )


def with_last_step(qs: QuerySet[Transfer]) -> QuerySet[Transfer]:
    """`last_step` in SQL, as `Transfer.last_step_at` computes it in Python (the board sorts by it)."""
    return qs.annotate(last_step=Coalesce("handed_over_at", "picked_up_at", "pickup_at"))


def late_q(now: dt.datetime) -> Q:
    """`is_late` as a filter: the next step not taken within LATE_AFTER of the last one."""
    q = Q(pk__in=[])
    for status, delta in LATE_AFTER.items():
        q |= Q(status=status, last_step__lt=now - delta)
    return q


def steps_of(transfer: Transfer) -> list[dict[str, Any]]:
    """The loop as a timeline: each step with its time (and how long after the one before it)."""
    items: list[dict[str, Any]] = [
        {"key": "planned", "label": _("Planned pick-up"), "at": transfer.pickup_at, "done": True, "planned": True},
        {"key": TransferStatus.PICKED_UP, "label": _("Picked up"), "at": transfer.picked_up_at},
        {"key": TransferStatus.HANDED_OVER, "label": _("Handed over at the site"), "at": transfer.handed_over_at,
         "extra": _("received by %(name)s") % {"name": transfer.received_by} if transfer.received_by else ""},
        {"key": TransferStatus.CONFIRMED, "label": _("Confirmed by the site"), "at": transfer.confirmed_at},
    ]  # fmt: skip
    if transfer.status == TransferStatus.CANCELLED:
        items.append(
            {"key": TransferStatus.CANCELLED, "label": _("Cancelled"), "at": transfer.cancelled_at,
             "extra": transfer.note, "cancelled": True}
        )  # fmt: skip
    previous = None
    for item in items:
        item.setdefault("done", item["at"] is not None)
        item.setdefault("after", None)
        # Minutes between real steps (the planned time is a plan: an early pick-up is not "after" it).
        if item["done"] and previous is not None and item["at"] and not item.get("cancelled"):
            item["after"] = max(0, int((item["at"] - previous).total_seconds() // 60))
        if item["done"] and item["at"] and not item.get("planned"):
            previous = item["at"]
    done = [i for i, item in enumerate(items) if item["done"]]
    items[done[-1]]["last"] = True
    nxt = NEXT_STEP.get(TransferStatus(transfer.status))
    for item in items:
        item["next"] = nxt is not None and item["key"] == nxt
    return items


def minutes_since(at: dt.datetime, now: dt.datetime) -> int:
    """Whole minutes from `at` to `now` (negative: still to come)."""
    return int((now - at).total_seconds() // 60)


def next_step_label(step: str) -> str:
    return {
        TransferStatus.PICKED_UP: _("Picked up: record it"),
        TransferStatus.HANDED_OVER: _("Handed over: record it"),
        TransferStatus.CONFIRMED: _("The site confirms: record it"),
    }[TransferStatus(step)]


# ---- the case page's card ------------------------------------------------------------------------


def _can_plan(request: HttpRequest, case: Any) -> bool:
    return (
        case.status == CaseStatus.PENDING
        and case.measure_type == MeasureType.CENTRAL_QUARANTINE
        and can_in_area(request.user, MANAGE_ROLES, case)
    )


def plan_form(data: Any = None) -> PlanTransferForm:
    sites = sites_with_room().filter(status=SiteStatus.OPEN).order_by("-free", "name")
    initial = {
        "pickup_at": timezone.localtime(timezone.now() + dt.timedelta(hours=1)).replace(
            second=0, microsecond=0
        )
    }
    return PlanTransferForm(data, sites=sites, initial=initial)


def case_context(request: HttpRequest, case: Any) -> dict[str, Any]:
    """What the case page's transfer card shows: the current (or last) transfer with its steps, the
    site, and for the office the form that plans a transfer of a pending centralised quarantine."""
    transfers = list(case.transfers.select_related("site").order_by("-pk")[:10])
    current = next((t for t in transfers if t.is_open), transfers[0] if transfers else None)
    can_plan = _can_plan(request, case) and not (current and current.is_open)
    form = plan_form() if can_plan else None
    return {
        "transfer": current,
        "transfer_steps": steps_of(current) if current else [],
        "earlier_transfers": [t for t in transfers if t is not current],
        "can_plan_transfer": can_plan,
        "plan_form": form,
        "plan_sites": list(form.fields["site"].queryset) if form else [],  # type: ignore[attr-defined]
        "transfer_late": is_late(current) if current else False,
    }


@role_required(*MANAGE_ROLES)
@require_POST
def plan_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    case = access_case(request.user, pk)
    form = plan_form(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            transfer = do_plan_transfer(
                actor=request.user, case=case, site=d["site"], team=d["team"], vehicle=d["vehicle"],
                pickup_at=d["pickup_at"],
            )  # fmt: skip
        except (InvalidInput, Conflict) as exc:
            attach_error(form, exc)
        else:
            messages.success(
                request,
                _("Transfer planned: %(vehicle)s picks %(name)s up at %(at)s.")
                % {"vehicle": transfer.vehicle, "name": case.person.name,
                   "at": f"{timezone.localtime(transfer.pickup_at):%m-%d %H:%M}"},
            )  # fmt: skip
            return redirect("control:case", pk=case.pk)
    from jiedao.control.views.cases import _case_context

    context = _case_context(request, case)
    context.update({"plan_form": form, "plan_sites": list(form.fields["site"].queryset)})  # type: ignore[attr-defined]
    return render(request, "control/case.html", context, status=422)


# ---- the transfer page -----------------------------------------------------------------------------


@role_required(*READ_ROLES)
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    t = access_transfer(request.user, pk)
    now = timezone.now()
    nxt = NEXT_STEP.get(TransferStatus(t.status))
    since = minutes_since(t.last_step_at, now) if t.is_open else None
    context = {
        "t": t,
        "case": t.case,
        "steps": steps_of(t),
        "next_step": nxt,
        "next_label": next_step_label(nxt) if nxt else "",
        "can_step": nxt is not None and can_in_area(request.user, TRANSFER_ROLES, t),
        "can_cancel": t.is_open and can_in_area(request.user, MANAGE_ROLES, t),
        "late": is_late(t, now),
        "since": since if since is not None and since >= 0 else None,
        "until": -since if since is not None and since < 0 else None,
    }
    return render(request, "control/transfer.html", context)


@role_required(*TRANSFER_ROLES)
@require_POST
def transfer_step(request: HttpRequest, pk: int) -> HttpResponse:
    t = access_transfer(request.user, pk)
    step = str(request.POST.get("step") or "")
    try:
        done = do_transfer_step(
            actor=request.user, transfer=t, step=step, received_by=str(request.POST.get("received_by") or "")
        )
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Recorded: %(step)s.") % {"step": done.get_status_display()})
    return redirect("control:transfer", pk=t.pk)


@role_required(*MANAGE_ROLES)
@require_POST
def transfer_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    t = access_transfer(request.user, pk)
    try:
        do_cancel_transfer(actor=request.user, transfer=t, reason=str(request.POST.get("reason") or ""))
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The transfer is cancelled."))
    return redirect("control:transfer", pk=t.pk)


# ---- the board of open transfers -------------------------------------------------------------------

TRANSFER_SORTS = {
    "waiting": "last_step",
    "pickup": "pickup_at",
    "name": "case__person__name",
    "site": "site__name",
    "status": "status",
}


@dataclass
class TransferFilters:
    community: int | None = None
    grid: int | None = None
    site: int | None = None
    status: str = ""
    late: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TransferFilters:
        status = str(params.get("status") or "")
        return cls(
            community=_int(params.get("community")),
            grid=_int(params.get("grid")),
            site=_int(params.get("site")),
            status=status if status in TransferStatus.values else "",
            late=str(params.get("late") or "") in ("1", "true", "on"),
        )

    def as_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", False)}

    def apply(self, qs: QuerySet[Transfer], now: dt.datetime, *, late: bool = True) -> QuerySet[Transfer]:
        if self.community:
            qs = qs.filter(community_id=self.community)
        if self.grid:
            qs = qs.filter(grid_id=self.grid)
        if self.site:
            qs = qs.filter(site_id=self.site)
        if self.status:
            qs = qs.filter(status=self.status)
        if late and self.late:
            qs = qs.filter(late_q(now))
        return qs


@role_required(*READ_ROLES)
def transfers(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    filters = TransferFilters.from_params(request.GET)
    base = with_last_step(transfers_visible_to(request.user).filter(status__in=OPEN_TRANSFER_STATUSES))
    unlate = filters.apply(base, now, late=False)
    qs = filters.apply(base, now)
    lst = listing(request, qs, sortable=TRANSFER_SORTS, default_sort="waiting")
    rows = []
    for t in lst.rows:
        minutes = minutes_since(t.last_step, now)
        rows.append({"t": t, "minutes": max(minutes, 0), "ahead": -minutes if minutes < 0 else None,
                     "late": is_late(t, now)})  # fmt: skip
    context: dict[str, Any] = {
        "list": lst,
        "filters": filters,
        "rows": rows,
        "late_count": unlate.filter(late_q(now)).count(),
        "now": now,
        "hx_target": "#jd-list",
    }
    if not is_htmx(request):
        context.update(
            {
                "statuses": [(k, v) for k, v in TransferStatus.choices if k in OPEN_TRANSFER_STATUSES],
                "communities": list(communities_for(request.user, READ_ROLES)),
                "grids": list(grids_for(request.user, READ_ROLES)),
                "sites": list(QuarantineSite.objects.only("pk", "name")),
            }
        )
    return render_page(request, "control/transfers.html", "control/_transfers_table.html", context)


@role_required(*READ_ROLES)
def transfers_export(request: HttpRequest) -> HttpResponse:
    """All transfers (open and closed) with the board's filters; a status narrows it."""
    filters = TransferFilters.from_params(request.GET)
    qs = filters.apply(with_last_step(transfers_visible_to(request.user)), timezone.now())
    qs = sorted_as_listed(request, qs, sortable=TRANSFER_SORTS, default_sort="-pickup")
    data = do_export_transfers(actor=request.user, queryset=qs, filters=filters.as_params())
    return xlsx_response(stamped("control-transfers"), data)


# ---- quarantine sites (subdistrict-wide; the command centre manages them) --------------------------

SITE_SORTS = {"name": "name", "free": "free", "capacity": "capacity", "status": "status"}


@role_required(*READ_ROLES)
def sites(request: HttpRequest) -> HttpResponse:
    status = str(request.GET.get("status") or "")
    status = status if status in SiteStatus.values else ""
    qs = sites_with_room()
    if status:
        qs = qs.filter(status=status)
    lst = listing(request, qs, sortable=SITE_SORTS, default_sort="name")
    rows = []
    for s in lst.rows:
        held = s.occupied + s.incoming
        rows.append(
            {
                "site": s,
                "held": held,
                "full": held >= s.capacity,
                "occupied_pct": min(100, round(100 * s.occupied / s.capacity)) if s.capacity else 100,
                "incoming_pct": min(100, round(100 * s.incoming / s.capacity)) if s.capacity else 0,
            }
        )
    context = {
        "list": lst,
        "rows": rows,
        "status": status,
        "statuses": SiteStatus.choices,
        "can_manage": can(request.user, (Role.COMMAND,)),
        "hx_target": "#jd-list",
    }
    return render_page(request, "control/sites.html", "control/_sites_table.html", context)


def _save_site(request: HttpRequest, site: QuarantineSite | None) -> HttpResponse:
    initial = {}
    if site is not None:
        initial = {k: getattr(site, k) for k in ("name", "address", "phone", "capacity", "status")}
    form = SiteForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                saved = do_save_site(
                    actor=request.user, site=site, name=d["name"], address=d["address"], capacity=d["capacity"],
                    phone=d["phone"], status=d["status"],
                )  # fmt: skip
            except (InvalidInput, Conflict) as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("%(site)s is saved.") % {"site": saved.name})
                return redirect("control:sites")
        status = 422
    held = None
    if site is not None:
        held = with_occupancy(QuarantineSite.objects.filter(pk=site.pk)).get()
    return render(
        request, "control/site_form.html", {"form": form, "site": site, "held": held}, status=status
    )


@role_required(Role.COMMAND)
@require_http_methods(["GET", "POST"])
def site_add(request: HttpRequest) -> HttpResponse:
    return _save_site(request, None)


@role_required(Role.COMMAND)
@require_http_methods(["GET", "POST"])
def site_edit(request: HttpRequest, pk: int) -> HttpResponse:
    site = QuarantineSite.objects.filter(pk=pk).first()
    if site is None:
        raise NotFound(_("Not found."))
    return _save_site(request, site)


urlpatterns: list[URLPattern] = [
    path("sites/", sites, name="sites"),
    path("sites/add", site_add, name="site_add"),
    path("sites/<int:pk>/edit", site_edit, name="site_edit"),
    path("cases/<int:pk>/transfer", plan_transfer, name="plan_transfer"),
    path("transfers/", transfers, name="transfers"),
    path("transfers/export", transfers_export, name="transfers_export"),
    path("transfers/<int:pk>/", transfer, name="transfer"),
    path("transfers/<int:pk>/step", transfer_step, name="transfer_step"),
    path("transfers/<int:pk>/cancel", transfer_cancel, name="transfer_cancel"),
]
