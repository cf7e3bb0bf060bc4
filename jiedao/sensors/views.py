"""Door sensors' pages: the device list with health, registering a device, a device's history; the
sensor card of a control case (bind, door timeline, windows, unbind); the alerts' live view and one
alert followed up on a phone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiedao.control.queries import access_case
from jiedao.control.teams import home_phase_ahead
from jiedao.core.decorators import role_required
from jiedao.core.errors import JiedaoError
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx, render_page
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import PER_PAGE_CHOICES, Listing, listing, sort_queryset, sorted_as_listed
from jiedao.org.choices import Role
from jiedao.registry.queries import communities_for
from jiedao.sensors import actions, exports
from jiedao.sensors.choices import AlertKind, AlertStatus, CheckMethod, DeviceStatus, EventKind
from jiedao.sensors.filters import (
    ALERT_SORTS,
    DEVICE_SORTS,
    LIVE,
    AlertFilters,
    DeviceFilters,
    live_order,
    silent_q,
)
from jiedao.sensors.forms import DeviceForm, WindowForm
from jiedao.sensors.models import Binding, DoorSensor, SensorAlert, SensorEvent
from jiedao.sensors.queries import (
    HANDLE_ROLES,
    MANAGE_ROLES,
    READ_ROLES,
    access_alert,
    access_binding,
    access_device,
    alerts_visible_to,
    bindings_visible_to,
    can,
    can_in_area,
    devices_visible_to,
)

# The device stock is the subdistrict's: the offices manage it, auditors read it.
DEVICE_ROLES = (*MANAGE_ROLES, Role.AUDITOR)
DOOR_KINDS = (EventKind.DOOR_OPEN, EventKind.DOOR_CLOSE, EventKind.TAMPER)
CASE_EVENTS = 50  # door events on the case card
DEVICE_EVENTS = 100  # events on the device page


def health(device: DoorSensor, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the lists colour: silent (on a door for a while and quiet as long: `filters.silent_q`), a low
    battery."""
    cutoff = (now or timezone.now()) - actions.silent_after()
    quiet = device.last_seen_at is None or device.last_seen_at < cutoff
    return {
        "silent": device.status == DeviceStatus.BOUND and device.updated_at < cutoff and quiet,
        "low_battery": device.battery is not None and device.battery < actions.LOW_BATTERY,
    }


def _alert_of(event: SensorEvent) -> SensorAlert | None:
    try:
        return event.alert
    except SensorAlert.DoesNotExist:
        return None


# ---- devices -------------------------------------------------------------------------------------


def _devices(request: HttpRequest, filters: DeviceFilters) -> QuerySet[DoorSensor]:
    """The filtered devices, each with the open binding the user may see (`open_bindings`): a device on
    a door in another community shows as "on a door elsewhere", never whose door."""
    visible = bindings_visible_to(request.user).filter(ends_at__isnull=True)
    return filters.apply(devices_visible_to(request.user)).prefetch_related(
        Prefetch("bindings", queryset=visible, to_attr="open_bindings")
    )


@role_required(*DEVICE_ROLES)
def devices(request: HttpRequest) -> HttpResponse:
    filters = DeviceFilters.from_params(request.GET)
    lst = listing(request, _devices(request, filters), sortable=DEVICE_SORTS, default_sort="device")
    now = timezone.now()
    rows = [
        {"d": d, "binding": d.open_bindings[0] if d.open_bindings else None, **health(d, now)}
        for d in lst.rows
    ]
    context: dict[str, Any] = {"list": lst, "filters": filters, "rows": rows}
    if not is_htmx(request):
        context["statuses"] = DeviceStatus.choices
        context["counts"] = devices_visible_to(request.user).aggregate(
            bound=Count("pk", filter=Q(status=DeviceStatus.BOUND)),
            in_stock=Count("pk", filter=Q(status=DeviceStatus.IN_STOCK)),
            silent=Count("pk", filter=silent_q(now)),
            low=Count("pk", filter=Q(battery__lt=actions.LOW_BATTERY)),
        )
        context["can_add"] = can(request.user, MANAGE_ROLES)
    return render_page(request, "sensors/devices.html", "sensors/_devices_table.html", context)


@role_required(*DEVICE_ROLES)
def devices_export(request: HttpRequest) -> HttpResponse:
    filters = DeviceFilters.from_params(request.GET)
    qs = sorted_as_listed(
        request, filters.apply(devices_visible_to(request.user)), sortable=DEVICE_SORTS, default_sort="device"
    )
    ledger = exports.devices_xlsx(
        actor=request.user,
        queryset=qs,
        bindings=bindings_visible_to(request.user),
        filters=filters.as_params(),
    )
    return xlsx_response(stamped("door-sensors"), ledger.data)


@role_required(*MANAGE_ROLES)
@require_http_methods(["GET", "POST"])
def device_add(request: HttpRequest) -> HttpResponse:
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, secret = actions.do_register_device(actor=request.user, **form.cleaned_data)
        except JiedaoError as exc:
            attach_error(form, exc)
        else:
            # The secret is shown this once (it is stored encrypted); the page must not stay in a cache.
            response = render(
                request,
                "sensors/device_add.html",
                {"form": DeviceForm(), "created": device, "secret": secret},
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "sensors/device_add.html", {"form": form})


@role_required(*DEVICE_ROLES)
def device(request: HttpRequest, pk: int) -> HttpResponse:
    d = access_device(request.user, pk)
    visible = bindings_visible_to(request.user).filter(device=d)
    bindings = list(visible.annotate(alerts_n=Count("alerts")).order_by("-starts_at", "-pk")[:50])
    elsewhere = Binding.objects.filter(device=d).exclude(pk__in=visible.values("pk")).count()
    events = list(
        SensorEvent.objects.filter(device=d)
        .filter(Q(binding__isnull=True) | Q(binding__in=visible.values("pk")))
        .select_related("alert")
        .order_by("-occurred_at", "-id")[:DEVICE_EVENTS]
    )
    context = {
        "d": d,
        **health(d),
        "bindings": bindings,
        "elsewhere": elsewhere,
        "events": [(ev, _alert_of(ev)) for ev in events],
        "event_cap": DEVICE_EVENTS,
        "topic": f"jiedao/sensors/{d.device_id}/events",
        "can_read_cases": can(request.user, READ_ROLES),
    }
    return render(request, "sensors/device.html", context)


# ---- the control case's sensor card --------------------------------------------------------------


def day_counts(case: Any) -> list[dict[str, Any]]:
    """Per local day, newest first: the door openings, closings, tampers and heartbeats of the case's
    bindings, and how many of them raised an alert. One statement."""
    rows = (
        SensorEvent.objects.filter(binding__case_id=case.pk)
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(
            opened=Count("id", filter=Q(kind=EventKind.DOOR_OPEN)),
            closed=Count("id", filter=Q(kind=EventKind.DOOR_CLOSE)),
            tamper=Count("id", filter=Q(kind=EventKind.TAMPER)),
            heartbeat=Count("id", filter=Q(kind=EventKind.HEARTBEAT)),
            alerts=Count("alert__id"),
        )
        .order_by("-day")
    )
    return list(rows[:60])


def case_card(request: HttpRequest, case: Any) -> str | None:
    """The sensor card of the control case page (registered with control's hooks): the device on the
    door and its health, the door timeline, the windows, and the forms to bind, grant and unbind."""
    user: Any = request.user
    if not can_in_area(user, READ_ROLES, case):
        return None
    bindings = list(
        Binding.objects.filter(case_id=case.pk)
        .select_related("device__vendor", "household")
        .order_by("-starts_at", "-pk")
    )
    current = next((b for b in bindings if b.is_open), None)
    manage = can_in_area(user, MANAGE_ROLES, case)
    can_bind = manage and current is None and case.status in actions.UNDER_MEASURE and home_phase_ahead(case)
    if not bindings and not can_bind:
        return None
    now = timezone.now()
    context: dict[str, Any] = {
        "case": case,
        "current": current,
        "past": [b for b in bindings if not b.is_open],
        "can_bind": can_bind,
        "stock": list(
            devices_visible_to(user).filter(status=DeviceStatus.IN_STOCK).order_by("device_id")[:200]
        )
        if can_bind
        else [],
        "can_grant": current is not None and can_in_area(user, HANDLE_ROLES, current),
        "can_unbind": current is not None and manage,
        "show_devices": can(user, DEVICE_ROLES),
        "now": now,
        "window_from": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
        "window_until": timezone.localtime(now + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }
    if current is not None:
        context.update(health(current.device, now))
        context["windows"] = list(current.windows.order_by("-starts_at", "-pk")[:20])
    if bindings:
        events = list(
            SensorEvent.objects.filter(binding__case_id=case.pk, kind__in=DOOR_KINDS)
            .select_related("alert")
            .order_by("-occurred_at", "-id")[:CASE_EVENTS]
        )
        context["events"] = [(ev, _alert_of(ev)) for ev in events]
        context["days"] = day_counts(case)
        context["alerts"] = list(
            SensorAlert.objects.filter(case_id=case.pk)
            .select_related("device")
            .order_by("-raised_at", "-pk")[:20]
        )
    return render_to_string("sensors/_case_card.html", context, request=request)


def _back_to_case(binding_or_case: Any, case_id: int | None) -> HttpResponse:
    if case_id:
        return redirect(reverse("control:case", args=[case_id]) + "#sensor-card")
    return redirect("sensors:device", pk=binding_or_case.device_id)


@role_required(*MANAGE_ROLES)
@require_POST
def bind(request: HttpRequest, pk: int) -> HttpResponse:
    case = access_case(request.user, pk)
    raw = str(request.POST.get("device") or "")
    device = (
        devices_visible_to(request.user).filter(pk=int(raw), status=DeviceStatus.IN_STOCK).first()
        if raw.isascii() and raw.isdigit() and len(raw) < 19
        else None
    )
    if device is None:
        messages.error(request, _("Choose a door sensor in stock."))
        return _back_to_case(None, case.pk)
    try:
        binding = actions.do_bind_device(actor=request.user, device=device, case=case)
        messages.success(
            request,
            _("Door sensor %(device)s is on the door of %(address)s.")
            % {"device": device.device_id, "address": binding.household.address},
        )
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return _back_to_case(None, case.pk)


@role_required(*MANAGE_ROLES)
@require_POST
def unbind(request: HttpRequest, pk: int) -> HttpResponse:
    binding = access_binding(request.user, pk)
    try:
        actions.do_unbind_device(
            actor=request.user, binding=binding, reason=str(request.POST.get("reason") or "")
        )
        messages.success(request, _("The door sensor is off the door and back in stock."))
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return _back_to_case(binding, binding.case_id)


@role_required(*HANDLE_ROLES)
@require_POST
def grant(request: HttpRequest, pk: int) -> HttpResponse:
    binding = access_binding(request.user, pk)
    form = WindowForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return _back_to_case(binding, binding.case_id)
    try:
        window = actions.do_grant_window(actor=request.user, binding=binding, **form.cleaned_data)
        messages.success(
            request,
            _("The door may open from %(start)s until %(end)s.")
            % {
                "start": timezone.localtime(window.starts_at).strftime("%m-%d %H:%M"),
                "end": timezone.localtime(window.ends_at).strftime("%m-%d %H:%M"),
            },
        )
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return _back_to_case(binding, binding.case_id)


# ---- alerts --------------------------------------------------------------------------------------


def _alerts_sorted(request: HttpRequest, qs: QuerySet[SensorAlert]) -> tuple[QuerySet[SensorAlert], str]:
    """In a chosen column's order, or the live order (open first, newest first) by default."""
    sort = str(request.GET.get("sort") or LIVE)
    if sort.lstrip("-") in ALERT_SORTS:
        return sort_queryset(qs, sort, ALERT_SORTS, "-raised")
    return live_order(qs), LIVE


def _alert_listing(request: HttpRequest, qs: QuerySet[SensorAlert]) -> Listing:
    qs, sort = _alerts_sorted(request, qs)
    try:
        per_page = int(request.GET.get("per_page", PER_PAGE_CHOICES[0]))
    except ValueError:
        per_page = PER_PAGE_CHOICES[0]
    if per_page not in PER_PAGE_CHOICES:
        per_page = PER_PAGE_CHOICES[0]
    page = Paginator(qs, per_page).get_page(request.GET.get("page"))
    params = {k: v for k, v in request.GET.items() if k != "page" and v}
    return Listing(page=page, sort=sort, querystring=urlencode(params))


@role_required(*READ_ROLES)
def alerts(request: HttpRequest) -> HttpResponse:
    filters = AlertFilters.from_params(request.GET)
    lst = _alert_listing(request, filters.apply(alerts_visible_to(request.user)))
    now = timezone.now()
    params = {k: v for k, v in request.GET.items() if v}
    context: dict[str, Any] = {
        "list": lst,
        "filters": filters,
        "rows": [(a, a.minutes_open(now)) for a in lst.rows],
        "now": now,
        # the poll asks for the same filters, sort and page again
        "poll_qs": urlencode(params),
    }
    if not is_htmx(request):
        context.update(
            {
                "statuses": AlertStatus.choices,
                "kinds": AlertKind.choices,
                "communities": list(communities_for(request.user, READ_ROLES)),
                "can_devices": can(request.user, DEVICE_ROLES),
            }
        )
    return render_page(request, "sensors/alerts.html", "sensors/_alerts_table.html", context)


@role_required(*READ_ROLES)
def alerts_export(request: HttpRequest) -> HttpResponse:
    filters = AlertFilters.from_params(request.GET)
    qs, _sort = _alerts_sorted(request, filters.apply(alerts_visible_to(request.user)))
    ledger = exports.alerts_xlsx(actor=request.user, queryset=qs, filters=filters.as_params())
    return xlsx_response(stamped("door-alerts"), ledger.data)


def steps_of(alert: SensorAlert) -> list[dict[str, Any]]:
    """The alert's way to the end: raised, acknowledged, checked, closed (each with when and who)."""
    checked_extra = ""
    if alert.checked_at:
        checked_extra = (
            f"{alert.get_check_method_display()} · {alert.outcome}" if alert.check_method else alert.outcome
        )
    steps: list[dict[str, Any]] = [
        {"key": "raised", "label": _("Alert raised"), "at": alert.raised_at, "done": True},
        {"key": AlertStatus.ACKNOWLEDGED, "label": _("Acknowledged"), "at": alert.acknowledged_at,
         "by": alert.acknowledged_by, "done": alert.acknowledged_at is not None},
        {"key": AlertStatus.CHECKED, "label": _("Checked"), "at": alert.checked_at, "by": alert.checked_by,
         "done": alert.checked_at is not None, "extra": checked_extra},
        {"key": AlertStatus.CLOSED, "label": _("Closed"), "at": alert.closed_at,
         "done": alert.closed_at is not None, "extra": alert.outcome if alert.closed_at and not alert.checked_at else ""},
    ]  # fmt: skip
    for i, s in enumerate(steps):
        s["next"] = not s["done"] and all(p["done"] for p in steps[:i])
    return steps


NEXT_ACTION: dict[str, str] = {
    AlertStatus.NEW: "ack",
    AlertStatus.ACKNOWLEDGED: "check",
    AlertStatus.CHECKED: "close",
}


@role_required(*READ_ROLES)
def alert(request: HttpRequest, pk: int) -> HttpResponse:
    a = access_alert(request.user, pk)
    handle = can_in_area(request.user, HANDLE_ROLES, a)
    escalated = a.work_item.escalated_at if a.work_item else None
    around = a.occurred_at - dt.timedelta(hours=6)
    events = list(
        SensorEvent.objects.filter(binding_id=a.binding_id, kind__in=DOOR_KINDS, occurred_at__gte=around)
        .select_related("alert")
        .order_by("-occurred_at", "-id")[:20]
    )
    context = {
        "a": a,
        "person": a.case.person if a.case else None,
        "household": a.binding.household,
        "minutes": a.minutes_open(),
        "escalated": escalated,
        "steps": steps_of(a),
        "next": NEXT_ACTION.get(a.status) if handle else None,
        "events": [(ev, _alert_of(ev)) for ev in events],
        "method_choices": CheckMethod.choices,
        "show_device": can(request.user, DEVICE_ROLES),
    }
    return render(request, "sensors/alert.html", context)


def _alert_act(request: HttpRequest, pk: int, act: Any, done: str) -> HttpResponse:
    a = access_alert(request.user, pk)
    try:
        act(a)
        messages.success(request, done)
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return redirect("sensors:alert", pk=a.pk)


@role_required(*HANDLE_ROLES)
@require_POST
def alert_ack(request: HttpRequest, pk: int) -> HttpResponse:
    return _alert_act(
        request, pk, lambda a: actions.do_acknowledge_alert(actor=request.user, alert=a),
        _("Acknowledged: now check it, by phone or on site."),
    )  # fmt: skip


@role_required(*HANDLE_ROLES)
@require_POST
def alert_check(request: HttpRequest, pk: int) -> HttpResponse:
    method = str(request.POST.get("method") or "")
    outcome = str(request.POST.get("outcome") or "")
    return _alert_act(
        request, pk, lambda a: actions.do_check_alert(actor=request.user, alert=a, method=method, outcome=outcome),
        _("Check recorded."),
    )  # fmt: skip


@role_required(*HANDLE_ROLES)
@require_POST
def alert_close(request: HttpRequest, pk: int) -> HttpResponse:
    note = str(request.POST.get("note") or "")
    return _alert_act(
        request,
        pk,
        lambda a: actions.do_close_alert(actor=request.user, alert=a, note=note),
        _("Alert closed."),
    )
