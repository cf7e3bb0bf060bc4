"""Reads for the organisation: scoped units, the staff a manager may manage, API keys, working groups."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from jiedao.core.errors import Forbidden, NotFound
from jiedao.core.scoping import Scope
from jiedao.org.choices import STAFF_MANAGERS, Role, UnitLevel
from jiedao.org.models import ApiKey, Community, Grid, RoleAssignment, Subdistrict, User, WorkingGroup


def manager_scope(user: Any) -> Scope:
    if not getattr(user, "is_authenticated", False):
        return Scope()
    return user.scope_for_role(*STAFF_MANAGERS)


def require_manager(user: Any) -> Scope:
    scope = manager_scope(user)
    if scope.empty:
        raise Forbidden(_("Only command and community staff manage staff."))
    return scope


def require_command(user: Any) -> None:
    if not (getattr(user, "is_authenticated", False) and user.has_role(Role.COMMAND)):
        raise Forbidden(_("Only the command centre may do this."))


def _assignments_in(scope: Scope) -> QuerySet[RoleAssignment]:
    # Grid-level assignments carry their community too (a check constraint), so the community covers them.
    return RoleAssignment.objects.filter(
        Q(community_id__in=scope.community_ids) | Q(grid_id__in=scope.grid_ids)
    )


def staff_visible_to(user: Any) -> QuerySet[User]:
    """Staff whom `user` may manage. Command: every staff account. Community staff: accounts holding an
    active role in their community, and accounts left without any active role whose past roles were there
    (so a community can restore someone it revoked). Service accounts behind API keys are never staff."""
    scope = require_manager(user)
    qs = User.objects.filter(is_service_account=False)
    if scope.everything:
        return qs
    here = _assignments_in(scope)
    active_here = Exists(here.filter(user=OuterRef("pk"), active=True))
    ever_here = Exists(here.filter(user=OuterRef("pk")))
    active_anywhere = Exists(RoleAssignment.objects.filter(user=OuterRef("pk"), active=True))
    return qs.filter(active_here | (ever_here & ~active_anywhere))


def with_current_assignments(qs: QuerySet[User]) -> QuerySet[User]:
    """Attach `current_assignments` (active roles with their units) in one extra query for the whole page."""
    return qs.prefetch_related(
        Prefetch(
            "assignments",
            queryset=RoleAssignment.objects.filter(active=True).select_related(
                "subdistrict", "community", "grid__community"
            ),
            to_attr="current_assignments",
        )
    )


def access_staff(user: Any, pk: Any) -> User:
    try:
        return staff_visible_to(user).get(pk=pk)
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def access_assignment(user: Any, staff: User, pk: Any) -> RoleAssignment:
    """One of `staff`'s role assignments (the staff member already fetched through access_staff)."""
    try:
        return RoleAssignment.objects.select_related("subdistrict", "community", "grid__community").get(
            user=staff, pk=pk
        )
    except (RoleAssignment.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def assignment_in_scope(scope: Scope, assignment: RoleAssignment) -> bool:
    if scope.everything:
        return True
    if assignment.level == UnitLevel.SUBDISTRICT:
        return False
    return scope.covers(assignment.community_id, assignment.grid_id)


def can_manage_account(manager: Any, staff: User) -> bool:
    """Whether `manager` may act on the account as a whole (deactivate, reset the password). A community
    manager may do so only when every active role of the account lies in their community: otherwise they
    could lock out, or take over, someone who also works elsewhere (or for the command centre)."""
    scope = manager_scope(manager)
    if scope.empty or staff.is_service_account:
        return False
    if scope.everything:
        return True
    assignments = list(staff.assignments.all())
    active = [a for a in assignments if a.active]
    if active:
        return all(assignment_in_scope(scope, a) for a in active)
    return any(assignment_in_scope(scope, a) for a in assignments)


def staff_history(staff: User, limit: int = 20) -> QuerySet[Any]:
    from jiedao.core.models import AuditEntry

    assignment_ids = [str(pk) for pk in staff.assignments.values_list("pk", flat=True)]
    return AuditEntry.objects.filter(
        Q(object_type="org.user", object_id=str(staff.pk))
        | Q(object_type="org.roleassignment", object_id__in=assignment_ids)
    ).order_by("-id")[:limit]


def active_staff_count(user: Any) -> int:
    """Active accounts holding at least one active role, among the staff `user` may manage."""
    has_role = Exists(RoleAssignment.objects.filter(user=OuterRef("pk"), active=True))
    return staff_visible_to(user).filter(has_role, is_active=True).count()


# ---- units a manager may choose ------------------------------------------------------------------


def manageable_units(user: Any) -> tuple[list[Subdistrict], list[Community], list[Grid]]:
    """The units offered in a manager's forms: command sees all; community staff their communities'."""
    scope = require_manager(user)
    if scope.everything:
        return (
            list(Subdistrict.objects.all()),
            list(Community.objects.all()),
            list(Grid.objects.select_related("community")),
        )
    communities = list(Community.objects.filter(pk__in=scope.community_ids))
    grids = list(
        Grid.objects.filter(
            Q(community_id__in=scope.community_ids) | Q(pk__in=scope.grid_ids)
        ).select_related("community")
    )
    return [], communities, grids


def communities_visible_to(user: Any) -> QuerySet[Community]:
    return Community.objects.visible_to(user)  # type: ignore[return-value]


def grids_visible_to(user: Any) -> QuerySet[Grid]:
    return Grid.objects.visible_to(user).select_related("community")  # type: ignore[return-value]


# ---- API keys and working groups (command only) ---------------------------------------------------


def api_keys_visible_to(user: Any) -> QuerySet[ApiKey]:
    require_command(user)
    return ApiKey.objects.select_related("user").prefetch_related(
        Prefetch(
            "user__assignments",
            queryset=RoleAssignment.objects.select_related("subdistrict", "community", "grid__community"),
            to_attr="all_assignments",
        )
    )


def access_api_key(user: Any, pk: Any) -> ApiKey:
    try:
        return api_keys_visible_to(user).get(pk=pk)
    except (ApiKey.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def working_groups_visible_to(user: Any) -> QuerySet[WorkingGroup]:
    require_command(user)
    return WorkingGroup.objects.select_related("lead").prefetch_related("members")


def access_working_group(user: Any, pk: Any) -> WorkingGroup:
    try:
        return working_groups_visible_to(user).get(pk=pk)
    except (WorkingGroup.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def staff_choices_for_groups() -> QuerySet[User]:
    """Who may lead or join a working group: active staff accounts (not service accounts)."""
    return User.objects.filter(is_active=True, is_service_account=False)
