"""Household pages: the list, the household file (一户一档), adding households and residents."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jiedao.core.decorators import role_required
from jiedao.core.errors import JiedaoError
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx, render_page
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing
from jiedao.registry import actions
from jiedao.registry.choices import CareTagKind, HouseholdStatus
from jiedao.registry.filters import HOUSEHOLD_SORTS, HouseholdFilters
from jiedao.registry.forms import HouseholdForm, MoveOutForm, ResidentForm, UnmaskForm
from jiedao.registry.queries import (
    EDIT_ROLES,
    READ_ROLES,
    access_household,
    access_resident,
    can_edit,
    can_unmask,
    compounds_visible_to,
    household_members,
    households_visible_to,
)
from jiedao.registry.sections import household_sections
from jiedao.registry.views.common import filter_choices, unit_or_404


@role_required(*READ_ROLES)
def households(request: HttpRequest) -> HttpResponse:
    filters = HouseholdFilters.from_params(request.GET)
    qs = filters.apply(households_visible_to(request.user))
    lst = listing(request, qs, sortable=HOUSEHOLD_SORTS, default_sort="address")
    context: dict[str, Any] = {
        "list": lst,
        "filters": filters,
        "hx_target": "#jd-list",
        "care_kinds": CareTagKind.choices,
        "statuses": HouseholdStatus.choices,
        "can_edit": can_edit(request.user),
    }
    if not is_htmx(request):
        context.update(filter_choices(request.user))
    return render_page(request, "registry/households.html", "registry/_households_table.html", context)


@role_required(*READ_ROLES)
def households_export(request: HttpRequest) -> HttpResponse:
    filters = HouseholdFilters.from_params(request.GET)
    qs = filters.apply(households_visible_to(request.user)).order_by("address", "pk")
    data = actions.do_export_households(actor=request.user, queryset=qs, filters=filters.as_params())
    return xlsx_response(stamped("households"), data)


@role_required(*READ_ROLES)
def household(request: HttpRequest, pk: int) -> HttpResponse:
    hh = access_household(request.user, pk)
    members = household_members(hh)
    context = {
        "household": hh,
        "flat": hh.flat,
        "members": members,
        "former": household_members(hh, current=False),
        "sections": household_sections(request, hh),
        "can_edit": can_edit(request.user),
        "can_unmask": can_unmask(request.user),
        "unmask_form": UnmaskForm(),
    }
    return render(request, "registry/household.html", context)


@role_required(*EDIT_ROLES)
@require_http_methods(["GET", "POST"])
def household_add(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        unit_or_404(user, request.POST.get("community"), request.POST.get("grid"), EDIT_ROLES)
        form = HouseholdForm(request.POST, user=user)
        if form.is_valid():
            d = form.cleaned_data
            head = None
            if d["head_name"]:
                head = {"name": d["head_name"], "id_number": d["head_id_number"], "phone": d["head_phone"]}
            try:
                hh = actions.do_open_household(
                    actor=user, community=d["community"], grid=d["grid"], compound=d["compound"],
                    building=d["building"], entrance=d["entrance"], flat=d["flat"], status=d["status"],
                    notes=d["notes"], head=head,
                )  # fmt: skip
            except JiedaoError as exc:
                if exc.field in ("id_number", "phone", "name"):
                    exc.field = f"head_{exc.field}"
                attach_error(form, exc)
            else:
                messages.success(request, _("Household %(file_no)s opened.") % {"file_no": hh.file_no})
                return redirect("registry:household", pk=hh.pk)
    else:
        form = HouseholdForm(user=user)
        communities = form.fields["community"].queryset  # type: ignore[attr-defined]
        if len(communities) == 1:
            form.initial["community"] = communities[0].pk
    compounds = compounds_visible_to(user).values_list("name", flat=True)[:500]
    return render(request, "registry/household_form.html", {"form": form, "compounds": compounds})


@role_required(*EDIT_ROLES)
@require_http_methods(["GET", "POST"])
def resident_add(request: HttpRequest, pk: int) -> HttpResponse:
    hh = access_household(request.user, pk)
    if request.method == "POST":
        form = ResidentForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                actions.do_register_resident(
                    actor=request.user, household=hh, name=d["name"], id_type=d["id_type"],
                    id_number=d["id_number"], phone=d["phone"], relation=d["relation"], moved_in=d["moved_in"],
                    care_tags=d["care_tags"], sex=d["sex"] or None, birth_date=d["birth_date"],
                )  # fmt: skip
            except JiedaoError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("%(name)s added to the household.") % {"name": d["name"]})
                return redirect("registry:household", pk=hh.pk)
    else:
        form = ResidentForm(initial={"moved_in": timezone.localdate()})
    return render(request, "registry/resident_form.html", {"form": form, "household": hh})


@role_required(*EDIT_ROLES)
@require_http_methods(["GET", "POST"])
def resident_move_out(request: HttpRequest, pk: int) -> HttpResponse:
    resident = access_resident(request.user, pk)
    if request.method == "POST":
        form = MoveOutForm(request.POST)
        if form.is_valid():
            try:
                actions.do_move_out_resident(
                    actor=request.user, resident=resident, moved_out=form.cleaned_data["moved_out"],
                    reason=form.cleaned_data["reason"],
                )  # fmt: skip
            except JiedaoError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("%(name)s moved out.") % {"name": resident.person.name})
                return redirect("registry:household", pk=resident.household_id)
    else:
        form = MoveOutForm(initial={"moved_out": timezone.localdate()})
    return render(request, "registry/move_out_confirm.html", {"form": form, "resident": resident})
