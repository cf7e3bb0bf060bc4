"""Work pages: the Today page (every role's inbox, the grid worker's phone home screen), the work
list for office roles (filters, sort, pages, Excel), one item, and the start/complete/cancel/reassign
buttons (HTMX on the Today cards: the card is replaced in place)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jiedao.core.decorators import role_required
from jiedao.core.errors import Forbidden, JiedaoError
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx, render_page
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing, sort_links, sorted_as_listed
from jiedao.org.models import User
from jiedao.work import actions
from jiedao.work.filters import DEFAULT_SORT, SORTABLE, WorkFilter, filter_options
from jiedao.work.forms import CancelForm, CompleteForm, ReassignForm
from jiedao.work.queries import (
    OFFICE_ROLES,
    access_work_item,
    assignee_candidates,
    can_act,
    can_supervise,
    item_history,
    today_counts,
    work_visible_to,
)
from jiedao.work.sections import today_sections
from jiedao.work.today import board_for, decorate


@require_GET
@role_required()
def today(request: HttpRequest) -> HttpResponse:
    board = board_for(request)
    sections = []
    for section in today_sections():
        html = section.render(request)
        if html:
            sections.append({"key": section.key, "title": section.title, "html": html})
    return render(request, "work/today.html", {"board": board, "sections": sections})


def _work_list_context(request: HttpRequest) -> tuple[WorkFilter, Any]:
    user: Any = request.user
    scoped = work_visible_to(user)
    kinds, assignees = filter_options(scoped)
    filters = WorkFilter(request.GET, user=user, kinds=kinds, assignees=assignees)
    return filters, filters.apply(scoped)


@require_GET
@role_required(*OFFICE_ROLES)
def work_list(request: HttpRequest) -> HttpResponse:
    filters, qs = _work_list_context(request)
    lst = listing(request, qs, sortable=SORTABLE, default_sort=DEFAULT_SORT)
    ctx = {
        "list": lst,
        "filters": filters,
        "sorts": sort_links(request, lst.sort, list(SORTABLE)),
        "hx_target": "#work-list",
        "now": timezone.now(),
    }
    return render_page(request, "work/list.html", "work/_list.html", ctx)


@require_GET
@role_required(*OFFICE_ROLES)
def work_export(request: HttpRequest) -> HttpResponse:
    filters, qs = _work_list_context(request)
    qs = sorted_as_listed(request, qs, sortable=SORTABLE, default_sort=DEFAULT_SORT)
    content = actions.do_export_work_items(actor=request.user, items=qs, filters=filters.as_params())
    return xlsx_response(stamped("work"), content)


def _detail_context(request: HttpRequest, item: Any, **forms: Any) -> dict[str, Any]:
    user: Any = request.user
    decorate(user, item)
    ctx: dict[str, Any] = {
        "item": item,
        "now": timezone.now(),
        "history": list(item_history(item)[:50]),
        "complete_form": forms.get("complete_form") or CompleteForm(),
    }
    if item.can_supervise:
        ctx["cancel_form"] = forms.get("cancel_form") or CancelForm()
        ctx["reassign_form"] = forms.get("reassign_form") or ReassignForm(
            candidates=assignee_candidates(item),
            initial={"assignee": item.assignee_id, "role": item.role},
        )
    return ctx


@require_GET
@role_required()
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = access_work_item(request.user, pk)
    return render(request, "work/item.html", _detail_context(request, item))


def _back(request: HttpRequest, item: Any) -> HttpResponse:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("work:item", pk=item.pk)


def _card(request: HttpRequest, item: Any, error: str = "", form: Any = None) -> HttpResponse:
    """The card again (HTMX swaps it in place), with fresh counts for the Today page's header."""
    ctx = {
        "item": decorate(request.user, item),
        "now": timezone.now(),
        "error": error,
        "complete_form": form,
        "counts": today_counts(request.user) if request.POST.get("ctx") == "today" else None,
    }
    return render(request, "work/_card_response.html", ctx)


@require_POST
@role_required()
def item_start(request: HttpRequest, pk: int) -> HttpResponse:
    item = access_work_item(request.user, pk)
    error = ""
    try:
        actions.do_start_work_item(actor=request.user, item=item)
    except JiedaoError as exc:
        if exc.status not in (409, 422):
            raise
        error = exc.message
    if is_htmx(request):
        return _card(request, item, error)
    if error:
        messages.error(request, error)
    return _back(request, item)


@require_POST
@role_required()
def item_complete(request: HttpRequest, pk: int) -> HttpResponse:
    item = access_work_item(request.user, pk)
    if not can_act(request.user, item):
        raise Forbidden(_("Your role may look at this item but not work on it."))
    form = CompleteForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            actions.do_complete_work_item(actor=request.user, item=item, outcome=form.cleaned_data["outcome"])
        except JiedaoError as exc:
            if exc.status not in (409, 422):
                raise
            error = exc.message
    else:
        error = _("Write what was done before marking the item done.")
    if is_htmx(request):
        return _card(request, item, error, form if error else None)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Marked done."))
    return _back(request, item)


def _require_supervisor(request: HttpRequest, pk: int) -> Any:
    item = access_work_item(request.user, pk)
    if not can_supervise(request.user, item):
        raise Forbidden(_("Only command and community staff may cancel or reassign work."))
    return item


@require_POST
@role_required("command", "community_staff")
def item_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    item = _require_supervisor(request, pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            actions.do_cancel_work_item(actor=request.user, item=item, reason=form.cleaned_data["reason"])
        except JiedaoError as exc:
            if exc.status not in (409, 422):
                raise
            attach_error(form, exc)
        else:
            messages.success(request, _("Work item cancelled."))
            return redirect("work:item", pk=item.pk)
    return render(request, "work/item.html", _detail_context(request, item, cancel_form=form), status=422)


@require_POST
@role_required("command", "community_staff")
def item_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    item = _require_supervisor(request, pk)
    form = ReassignForm(request.POST, candidates=assignee_candidates(item))
    if form.is_valid():
        d = form.cleaned_data
        assignee = User.objects.filter(pk=d["assignee"]).first() if d.get("assignee") else None
        try:
            actions.do_reassign_work_item(
                actor=request.user, item=item, assignee=assignee, role=d.get("role") or "",
                due_at=d.get("due_at"), reason=d.get("reason") or "",
            )  # fmt: skip
        except JiedaoError as exc:
            if exc.status not in (409, 422):
                raise
            attach_error(form, exc)
        else:
            messages.success(request, _("Work item reassigned."))
            return redirect("work:item", pk=item.pk)
    return render(request, "work/item.html", _detail_context(request, item, reassign_form=form), status=422)
