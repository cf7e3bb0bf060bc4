"""Screening's pages: the key-person ledger, the dispatch queue, a key person and their verification,
pushed lists (receive, preview, dry run, commit) and a list's results."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiedao.core.decorators import role_required
from jiedao.core.errors import InvalidInput, JiedaoError, NotFound
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx, render_page
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing, sorted_as_listed
from jiedao.core.sheets import check_size, load_upload
from jiedao.org.models import Community, Grid
from jiedao.protocols.registry import get_protocol
from jiedao.registry.models import Person
from jiedao.registry.queries import communities_for, grids_for
from jiedao.registry.queries import is_visible as registry_visible
from jiedao.screening import actions, preview
from jiedao.screening.choices import KeyPersonStatus, Outcome, Source
from jiedao.screening.exports import category_label
from jiedao.screening.filters import KEY_PERSON_SORTS, KeyPersonFilters
from jiedao.screening.forms import HandBackForm, ListForm, VerifyForm
from jiedao.screening.models import PushedList
from jiedao.screening.proposal import NO_MEASURE, propose
from jiedao.screening.queries import (
    DISPATCH_ROLES,
    HAND_BACK_ROLES,
    INTAKE_ROLES,
    LIST_READ_ROLES,
    READ_ROLES,
    VERIFY_ROLES,
    access_key_person,
    access_pushed_list,
    can,
    can_in_area,
    key_persons_visible_to,
    labelled,
    list_stats,
    lists_visible_to,
    role_scope,
    sources_of,
)


def _categories() -> list[tuple[str, str]]:
    return [(c.key, c.label) for c in get_protocol().categories.values()]


def _pk(raw: Any) -> int:
    """A posted primary key; anything else (text, "²", 10³⁰) reads as 0, which matches nothing."""
    text = str(raw or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else 0


def _is_dispatcher(user: Any) -> bool:
    return can(user, DISPATCH_ROLES) and role_scope(user, DISPATCH_ROLES).everything


# ---- the ledger ---------------------------------------------------------------------------------


@role_required(*READ_ROLES)
def key_persons(request: HttpRequest) -> HttpResponse:
    filters = KeyPersonFilters.from_params(request.GET)
    qs = filters.apply(key_persons_visible_to(request.user))
    lst = listing(request, qs, sortable=KEY_PERSON_SORTS, default_sort=filters.default_sort)
    labels = dict(_categories())
    context: dict[str, Any] = {
        "list": lst,
        "filters": filters,
        "rows": [(kp, labels.get(kp.category, kp.category)) for kp in lst.rows],
        "now": timezone.now(),
    }
    if not is_htmx(request):
        context.update(
            {
                "statuses": KeyPersonStatus.choices,
                "sources": Source.choices,
                "categories": _categories(),
                "communities": list(communities_for(request.user, READ_ROLES)),
                "grids": list(grids_for(request.user, READ_ROLES)),
                "can_receive": can(request.user, INTAKE_ROLES),
            }
        )
    return render_page(request, "screening/key_persons.html", "screening/_key_persons_table.html", context)


@role_required(*READ_ROLES)
def key_persons_export(request: HttpRequest) -> HttpResponse:
    filters = KeyPersonFilters.from_params(request.GET)
    qs = sorted_as_listed(
        request,
        filters.apply(key_persons_visible_to(request.user)),
        sortable=KEY_PERSON_SORTS,
        default_sort=filters.default_sort,
    )
    data = actions.do_export_key_persons(actor=request.user, queryset=qs, filters=filters.as_params())
    return xlsx_response(stamped("key-persons"), data)


@role_required(*DISPATCH_ROLES)
def dispatch(request: HttpRequest) -> HttpResponse:
    if not _is_dispatcher(request.user):
        raise NotFound(_("Not found."))
    qs = key_persons_visible_to(request.user).filter(status=KeyPersonStatus.DISPATCH)
    qs = qs.prefetch_related("handbacks__community")
    lst = listing(request, qs, sortable=KEY_PERSON_SORTS, default_sort="due")
    labels = dict(_categories())
    context = {
        "list": lst,
        "rows": [(kp, labels.get(kp.category, kp.category)) for kp in lst.rows],
        "communities": list(Community.objects.order_by("code")),
        "grids": list(Grid.objects.select_related("community").order_by("community__code", "code")),
        "now": timezone.now(),
    }
    return render_page(request, "screening/dispatch.html", "screening/_dispatch_table.html", context)


# ---- one key person -----------------------------------------------------------------------------


def _person_context(request: HttpRequest, kp: Any) -> dict[str, Any]:
    user = request.user
    # Only the candidates the user may see on the register; the others are counted, not shown.
    found = Person.objects.filter(pk__in=kp.candidates or []).prefetch_related("residencies__household")
    candidates = [p for p in found if registry_visible(user, p)]
    hidden_candidates = len(kp.candidates or []) - len(candidates)
    return {
        "kp": kp,
        "category": category_label(kp.protocol_key, kp.category),
        "classified": category_label(kp.protocol_key, kp.classified_category),
        "sources": labelled(sources_of(kp)),
        "verifications": list(kp.verifications.select_related("created_by")),
        "handbacks": list(kp.handbacks.select_related("community", "created_by")),
        "candidates": candidates,
        "hidden_candidates": hidden_candidates,
        "can_verify": kp.status == KeyPersonStatus.TO_VERIFY and can_in_area(user, VERIFY_ROLES, kp),
        "can_hand_back": kp.status == KeyPersonStatus.TO_VERIFY and can_in_area(user, HAND_BACK_ROLES, kp),
        "can_match": bool(kp.candidates) and can_in_area(user, VERIFY_ROLES, kp),
        "can_route": kp.is_open and _is_dispatcher(user),
        "hand_back_form": HandBackForm(),
        "communities": list(Community.objects.order_by("code")) if _is_dispatcher(user) else [],
        "grids": list(Grid.objects.select_related("community").order_by("community__code", "code"))
        if _is_dispatcher(user)
        else [],
        "now": timezone.now(),
    }


@role_required(*READ_ROLES)
def key_person(request: HttpRequest, pk: int) -> HttpResponse:
    kp = access_key_person(request.user, pk)
    return render(request, "screening/key_person.html", _person_context(request, kp))


def _proposal_context(kp: Any, data: dict[str, Any]) -> dict[str, Any]:
    today = timezone.localdate()
    last = data.get("last_exposure")
    if isinstance(last, str):
        try:
            last = dt.date.fromisoformat(last)
        except ValueError:
            last = None
    if last is not None and last > today:
        last = None
    symptoms = bool(data.get("symptoms")) and data.get("symptoms") not in ("", "0", "false")
    protocol = get_protocol(kp.protocol_key)
    proposal = propose(protocol, kp.category, last_exposure=last, symptoms=symptoms, today=today)
    chosen = data.get("category")
    if chosen is None or chosen not in proposal.keys:
        chosen = proposal.proposed
    return {"proposal": proposal, "chosen": chosen, "no_measure": NO_MEASURE}


def _default_exposure(kp: Any) -> dt.date | None:
    """The latest exposure the lists gave (or, for arrivals, the arrival), as the form's starting value."""
    days = [
        timezone.localtime(t).date() for e in kp.entries.all() for t in (e.exposed_at or e.arrived_at,) if t
    ]
    return max(days) if days else None


@role_required(*VERIFY_ROLES)
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    kp = access_key_person(request.user, pk)
    if kp.status != KeyPersonStatus.TO_VERIFY or not can_in_area(request.user, VERIFY_ROLES, kp):
        messages.info(request, _("This person is not waiting for your verification."))
        return redirect("screening:key_person", pk=kp.pk)
    if request.method == "POST":
        form = VerifyForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                actions.do_verify_key_person(
                    actor=request.user, kp=kp, outcome=d["outcome"], attempts=d["attempts"], where=d["where"],
                    current_address=d["current_address"], symptoms=d["symptoms"], symptom_notes=d["symptom_notes"],
                    last_exposure=d["last_exposure"],
                    category=d["category"] if d["outcome"] == Outcome.REACHED_IN_AREA else None,
                    notes=d["notes"],
                )  # fmt: skip
            except JiedaoError as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("Verification recorded."))
                return redirect("screening:key_person", pk=kp.pk)
        data: dict[str, Any] = (
            dict(form.cleaned_data) if form.is_bound and hasattr(form, "cleaned_data") else {}
        )
        data.setdefault("category", request.POST.get("category"))
    else:
        last = _default_exposure(kp)
        form = VerifyForm(initial={"last_exposure": last, "current_address": kp.address_text})
        data = {"last_exposure": last}
    context = {**_person_context(request, kp), "form": form, **_proposal_context(kp, data)}
    return render(request, "screening/verify.html", context)


@role_required(*VERIFY_ROLES)
def proposal(request: HttpRequest, pk: int) -> HttpResponse:
    """The proposal for the answers so far (the verification form refreshes it as they change)."""
    kp = access_key_person(request.user, pk)
    return render(request, "screening/_proposal.html", _proposal_context(kp, request.GET.dict()))


@role_required(*DISPATCH_ROLES)
@require_POST
def route(request: HttpRequest, pk: int) -> HttpResponse:
    kp = access_key_person(request.user, pk)
    try:
        community = Community.objects.get(pk=_pk(request.POST.get("community")))
    except (Community.DoesNotExist, ValueError):
        messages.error(request, _("Choose a community."))
        return redirect("screening:key_person", pk=kp.pk)
    raw_grid = request.POST.get("grid") or ""
    grid = Grid.objects.filter(pk=_pk(raw_grid)).first() if raw_grid else None
    try:
        actions.do_route_key_person(actor=request.user, kp=kp, community=community, grid=grid)
    except JiedaoError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Sent to %(community)s.") % {"community": community.name})
    back = request.POST.get("next") or ""
    if back.startswith("/screening/"):
        return redirect(back)
    return redirect("screening:key_person", pk=kp.pk)


@role_required(*HAND_BACK_ROLES)
@require_POST
def hand_back(request: HttpRequest, pk: int) -> HttpResponse:
    kp = access_key_person(request.user, pk)
    form = HandBackForm(request.POST)
    if form.is_valid():
        try:
            actions.do_hand_back_key_person(actor=request.user, kp=kp, reason=form.cleaned_data["reason"])
        except JiedaoError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Handed back to the subdistrict's dispatch queue."))
            return redirect("screening:key_persons")
    else:
        messages.error(request, _("Say why this person is not yours."))
    return redirect("screening:key_person", pk=kp.pk)


@role_required(*VERIFY_ROLES)
@require_POST
def match(request: HttpRequest, pk: int) -> HttpResponse:
    kp = access_key_person(request.user, pk)
    try:
        if request.POST.get("dismiss"):
            actions.do_dismiss_candidates(actor=request.user, kp=kp)
            messages.success(request, _("None of them: the pushed person stays a new person."))
        else:
            raw = request.POST.get("person") or ""
            person = Person.objects.filter(pk=_pk(raw)).first()
            if person is None:
                raise InvalidInput(_("Choose a person."), field="person")
            kp = actions.do_confirm_candidate(actor=request.user, kp=kp, person=person)
            messages.success(request, _("Confirmed: %(name)s.") % {"name": person.name})
    except JiedaoError as exc:
        messages.error(request, exc.message)
    return redirect("screening:key_person", pk=kp.pk)


# ---- lists --------------------------------------------------------------------------------------


@role_required(*LIST_READ_ROLES)
def lists(request: HttpRequest) -> HttpResponse:
    qs = lists_visible_to(request.user).select_related("created_by")
    lst = listing(
        request, qs, sortable={"received": "received_at", "title": "title"}, default_sort="-received"
    )
    stats = list_stats([p.pk for p in lst.rows])
    context = {
        "list": lst,
        "rows": [(p, stats[p.pk]) for p in lst.rows],
        "can_receive": can(request.user, INTAKE_ROLES),
    }
    return render_page(request, "screening/lists.html", "screening/_lists_table.html", context)


@role_required(*INTAKE_ROLES)
@require_http_methods(["GET", "POST"])
def list_new(request: HttpRequest) -> HttpResponse:
    categories = _categories()
    if request.method == "POST":
        form = ListForm(request.POST, request.FILES, categories=categories)
        upload = request.FILES.get("file")
        try:
            check_size(upload.size or 0 if upload is not None else 0)  # before reading a byte
            if form.is_valid():
                d = form.cleaned_data
                meta = actions.check_list_meta(
                    title=d["title"], issuer=d["issuer"], source=d["source"], category=d["category"],
                    received_at=d["received_at"],
                )  # fmt: skip
                data = d["file"].read()
                previous = actions.already_received(preview.digest(data))
                if previous is not None:
                    messages.info(request, _("This file was received before as “%(title)s”; nothing changed.")
                                  % {"title": previous.title})  # fmt: skip
                    return redirect("screening:list", pk=previous.pk)
                plist = actions.do_stage_list(
                    actor=request.user, meta=meta, filename=d["file"].name, data=data
                )
                return redirect("screening:list_staged", pk=plist.pk)
        except JiedaoError as exc:
            attach_error(form, exc)
    else:
        form = ListForm(
            categories=categories,
            initial={"received_at": timezone.localtime().replace(second=0, microsecond=0)},
        )
    return render(request, "screening/list_new.html", {"form": form, "columns": preview.COLUMNS})


@role_required(*INTAKE_ROLES)
@require_http_methods(["GET", "POST"])
def list_staged(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview and dry run of an uploaded list; POST commits it."""
    plist = access_pushed_list(request.user, pk, committed=False)
    previous = actions.already_received(plist.sha256)
    if previous is not None:
        messages.info(request, _("This file was received before; nothing changed."))
        return redirect("screening:list", pk=previous.pk)
    data = load_upload(plist.sha256)
    if request.method == "POST":
        result = actions.do_receive_list(actor=request.user, plist=plist, data=data)
        if result.previous is not None:
            messages.info(request, _("This file was received before; nothing changed."))
            return redirect("screening:list", pk=result.previous.pk)
        if result.ok:
            messages.success(request, _("%(n)s rows received.") % {"n": result.report.rows})
            return redirect("screening:list", pk=plist.pk)
        dry = result
    else:
        dry = actions.do_receive_list(actor=request.user, plist=plist, data=data, dry_run=True)
    context = {
        "plist": plist,
        "preview": preview.preview(plist.filename, data),
        "dry": dry,
        "report": dry.report,
        "category": category_label(plist.protocol_key, plist.category),
    }
    return render(request, "screening/list_staged.html", context)


@role_required(*LIST_READ_ROLES)
def pushed_list(request: HttpRequest, pk: int) -> HttpResponse:
    plist: PushedList = access_pushed_list(request.user, pk)
    entries = plist.entries.select_related(
        "key_person", "key_person__community", "key_person__grid"
    ).order_by("row", "pk")
    lst = listing(request, entries, sortable={"row": "row"}, default_sort="row")
    labels = dict(_categories())
    from jiedao.screening.models import HandBack

    context = {
        "plist": plist,
        "stats": list_stats([plist.pk])[plist.pk],
        "list": lst,
        "rows": [(e, labels.get(e.category, e.category)) for e in lst.rows],
        "handbacks": list(
            HandBack.objects.filter(key_person__entries__pushed_list=plist)
            .select_related("community", "key_person__person")
            .distinct()[:100]
        ),
        "category": category_label(plist.protocol_key, plist.category),
        "now": timezone.now(),
    }
    return render_page(request, "screening/list.html", "screening/_entries_table.html", context)


@role_required(*LIST_READ_ROLES)
def list_results(request: HttpRequest, pk: int) -> HttpResponse:
    plist = access_pushed_list(request.user, pk)
    data = actions.do_export_list_results(actor=request.user, plist=plist)
    return xlsx_response(stamped(f"list-{plist.pk}-results"), data)
