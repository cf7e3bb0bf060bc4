"""Key-industry group pages: the groups with their overdue counts, a group's members (who is due this
period, who is overdue), adding members by hand or from a file, and the Excel ledger."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jiedao.control.queries import role_scope
from jiedao.core.decorators import role_required
from jiedao.core.errors import Forbidden, InvalidInput, NotFound
from jiedao.core.forms import attach_error
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.nat.groups import (
    READ_ROLES,
    access_group,
    can_edit_group,
    do_add_group_members,
    do_export_group,
    do_remove_group_member,
    do_save_group,
    groups_visible_to,
    member_rows,
    member_rows_for,
    member_rows_from_file,
    period_of,
)
from jiedao.nat.queries import MANAGE_ROLES, parse_id
from jiedao.org.choices import Role
from jiedao.org.models import Community


@role_required(*READ_ROLES)
def groups(request: HttpRequest) -> HttpResponse:
    """The groups the caller sees, each with its members and how many are overdue."""
    rows = []
    groups_shown = list(groups_visible_to(request.user).order_by("name"))
    all_rows = member_rows_for(groups_shown)
    for group in groups_shown:
        members = all_rows[group.pk]
        rows.append(
            {"group": group, "members": len(members), "due": sum(1 for r in members if r.due),
             "overdue": sum(1 for r in members if r.overdue)}
        )  # fmt: skip
    can_add = request.user.has_role(*MANAGE_ROLES)  # type: ignore[union-attr]
    return render(request, "nat/groups.html", {"rows": rows, "can_add": can_add})


@role_required(*READ_ROLES)
@require_http_methods(["GET", "POST"])
def group(request: HttpRequest, pk: int) -> HttpResponse:
    """A group's members: last sampled, due this period, overdue; add members (form or file)."""
    the_group = access_group(request.user, pk)
    editable = can_edit_group(request.user, the_group)
    report = None
    if request.method == "POST":
        if not editable:
            raise NotFound(_("Not found."))
        try:
            upload = request.FILES.get("file")
            if upload is not None:
                rows = member_rows_from_file(upload.name or "", upload.read())
            else:
                rows = [{"row": 1, "name": request.POST.get("name", ""), "id_number": request.POST.get("id_number", ""),
                         "employer": request.POST.get("employer", "")}]  # fmt: skip
            report = do_add_group_members(actor=request.user, group=the_group, rows=rows)
        except (InvalidInput, Forbidden) as exc:
            messages.error(request, exc.message)
        else:
            if upload is None and report["counts"]["refused"] == 0:
                messages.success(request, _("Added."))
                return redirect("nat:group", the_group.pk)
    rows_all = member_rows(the_group)
    show = request.GET.get("show", "")
    rows_shown = [r for r in rows_all if (show != "overdue" or r.overdue) and (show != "due" or r.due)]
    q = request.GET.get("q", "").strip()
    if q:
        rows_shown = [r for r in rows_shown if q in r.member.person.name or q in r.member.employer]
    if request.GET.get("export") == "1":
        data = do_export_group(actor=request.user, group=the_group, rows=rows_shown)
        return xlsx_response(stamped(f"key-industry-{the_group.pk}"), data)
    from django.core.paginator import Paginator
    from django.utils import timezone

    page = Paginator(rows_shown, 50).get_page(request.GET.get("page"))
    _n, first, last = period_of(the_group, timezone.localdate())
    return render(
        request,
        "nat/group.html",
        {
            "group": the_group, "page": page, "show": show, "q": q, "editable": editable, "report": report,
            "total": len(rows_all), "due": sum(1 for r in rows_all if r.due),
            "overdue": sum(1 for r in rows_all if r.overdue), "period": (first, last),
        },
    )  # fmt: skip


@role_required(*MANAGE_ROLES)
@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    from jiedao.nat.forms import GroupForm

    the_group = access_group(request.user, pk) if pk else None
    if the_group is not None and not can_edit_group(request.user, the_group):
        raise NotFound(_("Not found."))
    scope = role_scope(request.user, MANAGE_ROLES)
    communities = (
        Community.objects.all() if scope.everything else Community.objects.filter(pk__in=scope.community_ids)
    ).defer("geometry")
    initial: dict[str, Any] = {}
    if the_group is not None:
        initial = {
            f: getattr(the_group, f)
            for f in ("name", "industry", "frequency_days", "spot_check_percent", "note")
        }
        initial["community"] = the_group.community_id
    chosen = parse_id(request.POST.get("community"))
    if request.method == "POST" and chosen and not communities.filter(pk=chosen).exists():
        raise NotFound(_("Not found."))
    form = GroupForm(request.POST or None, initial=initial, communities=communities)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            saved = do_save_group(
                actor=request.user, group=the_group, name=d["name"], industry=d["industry"],
                frequency_days=d["frequency_days"], spot_check_percent=d["spot_check_percent"],
                community=d["community"], note=d["note"],
            )  # fmt: skip
        except (InvalidInput, Forbidden) as exc:
            attach_error(form, exc)
        else:
            return redirect("nat:group", saved.pk)
    return render(request, "nat/group_form.html", {"form": form, "group": the_group})


@role_required(Role.COMMAND, Role.COMMUNITY_STAFF)
@require_POST
def member_remove(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    the_group = access_group(request.user, pk)
    member = the_group.members.select_related("person", "group").filter(pk=member_pk).first()
    if member is None or not can_edit_group(request.user, the_group):
        raise NotFound(_("Not found."))
    try:
        do_remove_group_member(actor=request.user, member=member, reason=request.POST.get("reason", ""))
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Removed: %(name)s.") % {"name": member.person.name})
    return redirect("nat:group", the_group.pk)
