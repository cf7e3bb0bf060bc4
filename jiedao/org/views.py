"""Organisation pages: sign-in, staff management, API keys and working groups. Thin: access → form →
action → render; every rule is in org/actions.py and every read in org/queries.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from jiedao.core.decorators import role_required
from jiedao.core.errors import Conflict, InvalidInput, JiedaoError
from jiedao.core.forms import attach_error
from jiedao.core.htmx import render_page
from jiedao.core.identity import mask_phone
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing, sort_links, sorted_as_listed
from jiedao.org import actions, queries
from jiedao.org.filters import STAFF_DEFAULT_SORT, STAFF_SORTABLE, filter_staff
from jiedao.org.forms import (
    ApiKeyForm,
    LoginForm,
    PasswordResetForm,
    ReasonForm,
    RoleAddForm,
    StaffCreateForm,
    StaffFilterForm,
    WorkingGroupForm,
)


class LoginView(auth_views.LoginView):
    template_name = "org/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "org:login"


# ---- helpers ---------------------------------------------------------------------------------------


def _posted(request: HttpRequest) -> Any:
    """The POST data, or None for a GET (an empty POST still binds the form, so it is validated)."""
    return request.POST if request.method == "POST" else None


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


# ---- staff -----------------------------------------------------------------------------------------


def _staff_rows(request: HttpRequest) -> tuple[Any, StaffFilterForm]:
    base = queries.staff_visible_to(request.user)
    form = StaffFilterForm(request.GET or None, user=request.user)
    qs = queries.with_current_assignments(filter_staff(base, form.filters() if request.GET else {}))
    return qs, form


@require_GET
@role_required()
def staff_list(request: HttpRequest) -> HttpResponse:
    qs, form = _staff_rows(request)
    lst = listing(request, qs, sortable=STAFF_SORTABLE, default_sort=STAFF_DEFAULT_SORT)
    for user in lst.rows:
        user.work_phone_masked = mask_phone(user.work_phone)
    ctx = {
        "list": lst,
        "form": form,
        "hx_target": "#staff-table",
        "sort": sort_links(request, lst.sort, list(STAFF_SORTABLE)),
    }
    return render_page(request, "org/staff_list.html", "org/_staff_table.html", ctx)


@require_GET
@role_required()
def staff_export(request: HttpRequest) -> HttpResponse:
    """The filtered staff list as a spreadsheet, in the list's order; work phones masked as on the page."""
    qs, _form = _staff_rows(request)
    qs = sorted_as_listed(request, qs, sortable=STAFF_SORTABLE, default_sort=STAFF_DEFAULT_SORT)
    filters = {k: v for k, v in request.GET.items() if v}
    return xlsx_response(
        stamped("staff"), actions.do_export_staff(actor=request.user, users=qs, filters=filters)
    )


@require_http_methods(["GET", "POST"])
@role_required()
def staff_new(request: HttpRequest) -> HttpResponse:
    queries.require_manager(request.user)
    form = StaffCreateForm(_posted(request), user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            level, subdistrict, community, grid = d["unit"]
            try:
                user = actions.do_create_staff(
                    actor=request.user, username=d["username"], display_name=d["display_name"],
                    password=d["password"], work_phone=d["work_phone"], role=d["role"], level=level,
                    subdistrict=subdistrict, community=community, grid=grid,
                )  # fmt: skip
            except (InvalidInput, Conflict) as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("Staff account %(name)s created.") % {"name": user})
                return redirect("org:staff_detail", pk=user.pk)
        status = 422
    return render(request, "org/staff_new.html", {"form": form}, status=status)


@require_GET
@role_required()
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    staff = queries.access_staff(request.user, pk)
    scope = queries.manager_scope(request.user)
    assignments = list(
        staff.assignments.select_related("subdistrict", "community", "grid__community").order_by(
            "-active", "-created_at"
        )
    )
    rows = []
    for a in assignments:
        may_revoke = a.active and queries.assignment_in_scope(scope, a)
        if may_revoke:
            try:
                actions.check_revoke_role(request.user, a)
            except JiedaoError:
                may_revoke = False
        rows.append({"a": a, "may_revoke": may_revoke})
    ctx = {
        "staff": staff,
        "rows": rows,
        "may_manage_account": queries.can_manage_account(request.user, staff),
        "is_self": staff.pk == request.user.pk,
        "history": queries.staff_history(staff),
    }
    return render(request, "org/staff_detail.html", ctx)


@require_http_methods(["GET", "POST"])
@role_required()
def staff_add_role(request: HttpRequest, pk: int) -> HttpResponse:
    staff = queries.access_staff(request.user, pk)
    form = RoleAddForm(_posted(request), user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            level, subdistrict, community, grid = d["unit"]
            try:
                actions.do_assign_role(
                    actor=request.user, user=staff, role=d["role"], level=level, subdistrict=subdistrict,
                    community=community, grid=grid, reason=d["reason"],
                )  # fmt: skip
            except (InvalidInput, Conflict) as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("Role added."))
                return redirect("org:staff_detail", pk=staff.pk)
        status = 422
    return render(request, "org/staff_add_role.html", {"staff": staff, "form": form}, status=status)


@require_http_methods(["GET", "POST"])
@role_required()
def staff_revoke_role(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    staff = queries.access_staff(request.user, pk)
    assignment = queries.access_assignment(request.user, staff, assignment_pk)
    actions.check_revoke_role(request.user, assignment)
    form = ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        actions.do_revoke_role(actor=request.user, assignment=assignment, reason=form.cleaned_data["reason"])
        messages.success(request, _("Role revoked."))
        return redirect("org:staff_detail", pk=staff.pk)
    ctx = {"staff": staff, "assignment": assignment, "form": form}
    return render(request, "org/staff_revoke_role.html", ctx)


@require_http_methods(["GET", "POST"])
@role_required()
def staff_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then deactivate or reactivate an account. The POST names the state it wants, so a repeated
    submit cannot flip the account back."""
    staff = queries.access_staff(request.user, pk)
    actions.require_account_manager(request.user, staff)
    form = ReasonForm(_posted(request))
    if request.method == "POST":
        wanted = request.POST.get("active")
        if wanted not in ("0", "1"):
            raise InvalidInput(_("Say whether the account should be active (1) or not (0)."), field="active")
        if form.is_valid():
            actions.do_set_staff_active(
                actor=request.user, user=staff, active=wanted == "1", reason=form.cleaned_data["reason"]
            )
            messages.success(
                request, _("Account reactivated.") if wanted == "1" else _("Account deactivated.")
            )
            return redirect("org:staff_detail", pk=staff.pk)
    target = not staff.is_active
    ctx = {"staff": staff, "form": form, "target": target, "hidden": [("active", "1" if target else "0")]}
    return render(request, "org/staff_active.html", ctx)


@require_http_methods(["GET", "POST"])
@role_required()
def staff_password(request: HttpRequest, pk: int) -> HttpResponse:
    staff = queries.access_staff(request.user, pk)
    actions.require_account_manager(request.user, staff)
    form = PasswordResetForm(_posted(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.do_reset_password(
                    actor=request.user, user=staff, password=form.cleaned_data["password"],
                    reason=form.cleaned_data["reason"],
                )  # fmt: skip
            except InvalidInput as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("Password reset. Their open sessions have ended."))
                return redirect("org:staff_detail", pk=staff.pk)
        status = 422
    return _no_store(
        render(request, "org/staff_password.html", {"staff": staff, "form": form}, status=status)
    )


# ---- API keys --------------------------------------------------------------------------------------


@require_GET
@role_required()
def api_keys(request: HttpRequest) -> HttpResponse:
    qs = queries.api_keys_visible_to(request.user)
    lst = listing(
        request, qs, sortable={"created": "created_at", "name": "name", "last_used": "last_used_at"},
        default_sort="-created",
    )  # fmt: skip
    return render(request, "org/api_keys.html", {"list": lst, "now": timezone.now()})


@require_http_methods(["GET", "POST"])
@role_required()
def api_key_new(request: HttpRequest) -> HttpResponse:
    queries.require_command(request.user)
    form = ApiKeyForm(_posted(request), user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            level, subdistrict, community, grid = d["unit"]
            try:
                key, raw = actions.do_create_service_key(
                    actor=request.user, name=d["name"], role=d["role"], level=level, subdistrict=subdistrict,
                    community=community, grid=grid, permissions=d["permissions"], expires_at=form.expires_at(),
                )  # fmt: skip
            except (InvalidInput, Conflict) as exc:
                attach_error(form, exc, {"expires_at": "expires_on"})
            else:
                # The raw key goes into this one response and nowhere else: not the session, not a redirect.
                return _no_store(render(request, "org/api_key_created.html", {"key": key, "raw": raw}))
        status = 422
    return render(request, "org/api_key_new.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@role_required()
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = queries.access_api_key(request.user, pk)
    form = ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        actions.do_revoke_api_key(actor=request.user, key=key, reason=form.cleaned_data["reason"])
        messages.success(request, _("API key %(name)s revoked.") % {"name": key.name})
        return redirect("org:api_keys")
    return render(request, "org/api_key_revoke.html", {"key": key, "form": form})


# ---- working groups -------------------------------------------------------------------------------


@require_GET
@role_required()
def working_groups(request: HttpRequest) -> HttpResponse:
    groups = queries.working_groups_visible_to(request.user)
    return render(request, "org/working_groups.html", {"groups": groups})


def _save_group(request: HttpRequest, group: Any) -> HttpResponse:
    initial = {}
    if group is not None:
        initial = {
            "name": group.name, "position": group.position, "duties": group.duties, "lead": group.lead,
            "members": list(group.members.all()),
        }  # fmt: skip
    form = WorkingGroupForm(_posted(request), initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            fields = {
                "name": d["name"], "duties": d["duties"], "position": d["position"] or 0, "lead": d["lead"],
                "members": list(d["members"]),
            }  # fmt: skip
            try:
                if group is None:
                    actions.do_create_working_group(actor=request.user, **fields)
                else:
                    actions.do_update_working_group(actor=request.user, group=group, **fields)
            except (InvalidInput, Conflict) as exc:
                attach_error(form, exc)
            else:
                messages.success(request, _("Working group saved."))
                return redirect("org:working_groups")
        status = 422
    return render(request, "org/working_group_form.html", {"form": form, "group": group}, status=status)


@require_http_methods(["GET", "POST"])
@role_required()
def working_group_new(request: HttpRequest) -> HttpResponse:
    queries.require_command(request.user)
    return _save_group(request, None)


@require_http_methods(["GET", "POST"])
@role_required()
def working_group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save_group(request, queries.access_working_group(request.user, pk))
