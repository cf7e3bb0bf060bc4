"""Person pages: the list, the person page, editing, care tags, unmasking, and the global search."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jiedao.core.decorators import role_required
from jiedao.core.errors import JiedaoError
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx, render_page
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing
from jiedao.registry import actions
from jiedao.registry.choices import CareTagKind, IdType, Sex
from jiedao.registry.filters import AGE_BANDS, PERSON_SORTS, PersonFilters
from jiedao.registry.forms import CareTagsForm, PersonForm, UnmaskForm
from jiedao.registry.queries import (
    EDIT_ROLES,
    READ_ROLES,
    UNMASK_ROLES,
    access_person,
    can_edit,
    can_unmask,
    person_residencies,
    persons_visible_to,
    search,
)
from jiedao.registry.sections import person_sections
from jiedao.registry.views.common import filter_choices, hx


@role_required(*READ_ROLES)
def persons(request: HttpRequest) -> HttpResponse:
    filters = PersonFilters.from_params(request.GET)
    qs = filters.apply(persons_visible_to(request.user))
    lst = listing(request, qs, sortable=PERSON_SORTS, default_sort="name")
    context: dict[str, Any] = {
        "list": lst,
        "filters": filters,
        "hx_target": "#jd-list",
        "care_kinds": CareTagKind.choices,
        "sexes": [(k, v) for k, v in Sex.choices if k != Sex.UNKNOWN],
        "age_bands": [(k, v[0]) for k, v in AGE_BANDS.items()],
    }
    if not is_htmx(request):
        context.update(filter_choices(request.user))
    return render_page(request, "registry/persons.html", "registry/_persons_table.html", context)


@role_required(*READ_ROLES)
def persons_export(request: HttpRequest) -> HttpResponse:
    filters = PersonFilters.from_params(request.GET)
    qs = filters.apply(persons_visible_to(request.user)).order_by("name", "pk")
    data = actions.do_export_persons(actor=request.user, queryset=qs, filters=filters.as_params())
    return xlsx_response(stamped("persons"), data)


@role_required(*READ_ROLES)
def person(request: HttpRequest, pk: int) -> HttpResponse:
    p = access_person(request.user, pk)
    context = {
        "person": p,
        "residencies": person_residencies(request.user, p),
        "sections": person_sections(request, p),
        "can_edit": can_edit(request.user),
        "can_unmask": can_unmask(request.user),
        "unmask_form": UnmaskForm(),
        "care_form": CareTagsForm(initial={"care_tags": [t.kind for t in p.care_tags.all()]}),
    }
    return render(request, "registry/person.html", context)


@role_required(*EDIT_ROLES)
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    p = access_person(request.user, pk)
    if request.method == "POST":
        form = PersonForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            kwargs: dict[str, Any] = {
                "name": d["name"], "id_type": d["id_type"], "notes": d["notes"], "reason": d["reason"],
                "sex": d["sex"] or None,
            }  # fmt: skip
            if d["id_number"].strip() or d["id_type"] == IdType.NONE:
                kwargs["id_number"] = d["id_number"]
            if d["clear_phone"]:
                kwargs["phone"] = ""
            elif d["phone"].strip():
                kwargs["phone"] = d["phone"]
            if d["id_type"] != IdType.RESIDENT_ID:
                kwargs["birth_date"] = d["birth_date"]
            try:
                actions.do_update_person(actor=request.user, person=p, **kwargs)
            except JiedaoError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("registry:person", pk=p.pk)
    else:
        form = PersonForm(
            initial={
                "name": p.name, "id_type": p.id_type, "sex": p.sex if p.id_type != IdType.RESIDENT_ID else "",
                "birth_date": p.birth_date, "notes": p.notes,
            }
        )  # fmt: skip
    return render(request, "registry/person_form.html", {"form": form, "person": p})


@role_required(*EDIT_ROLES)
@require_http_methods(["GET", "POST"])
def person_care_tags(request: HttpRequest, pk: int) -> HttpResponse:
    p = access_person(request.user, pk)
    if request.method == "POST":
        form = CareTagsForm(request.POST)
        if form.is_valid():
            try:
                actions.do_set_care_tags(
                    actor=request.user, person=p, kinds=form.cleaned_data["care_tags"],
                    reason=form.cleaned_data["reason"],
                )  # fmt: skip
            except JiedaoError as exc:
                attach_error(form, exc)
            else:
                if hx(request):
                    p = access_person(request.user, pk)
                    return render(request, "registry/_care_tags.html", {"person": p, "can_edit": True})
                messages.success(request, _("Care tags saved."))
                return redirect("registry:person", pk=p.pk)
    else:
        form = CareTagsForm(initial={"care_tags": [t.kind for t in p.care_tags.all()]})
    template = "registry/_care_tags_form.html" if hx(request) else "registry/care_tags.html"
    return render(request, template, {"form": form, "person": p})


@role_required(*UNMASK_ROLES)
@require_http_methods(["GET", "POST"])
def person_unmask(request: HttpRequest, pk: int) -> HttpResponse:
    p = access_person(request.user, pk)
    revealed = None
    if request.method == "POST":
        form = UnmaskForm(request.POST)
        if form.is_valid():
            try:
                revealed = actions.do_unmask_person(
                    actor=request.user, person=p, reason=form.cleaned_data["reason"]
                )
            except JiedaoError as exc:
                attach_error(form, exc)
    else:
        form = UnmaskForm()
    context = {"person": p, "form": form, "revealed": revealed}
    response = render(request, "registry/_unmask.html" if hx(request) else "registry/unmask.html", context)
    response["Cache-Control"] = "no-store"  # the full number must not linger in caches
    return response


@role_required(*READ_ROLES)
def search_view(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    result = search(request.user, q)
    return render(request, "registry/search.html", {"result": result, "q": result.q})
