"""Reads for the organisation: scoped units and the staff a manager may manage."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from jiedao.core.errors import Forbidden, NotFound
from jiedao.core.scoping import Scope
from jiedao.org.choices import STAFF_MANAGERS
from jiedao.org.models import Community, Grid, RoleAssignment, User


def manager_scope(user: Any) -> Scope:
    if not getattr(user, "is_authenticated", False):
        return Scope()
    return user.scope_for_role(*STAFF_MANAGERS)


def require_manager(user: Any) -> Scope:
    scope = manager_scope(user)
    if scope.empty:
        raise Forbidden(
            "只有指挥部和社区工作人员可以管理人员 / only command and community staff manage staff"
        )
    return scope


def staff_visible_to(user: Any) -> QuerySet[User]:
    """Staff whom `user` may manage: everyone for command; those with a role in the manager's community."""
    scope = require_manager(user)
    qs = User.objects.filter(is_active=True) | User.objects.filter(is_active=False)
    if scope.everything:
        return qs.distinct()
    grids = Grid.objects.filter(community_id__in=scope.community_ids).values("pk")
    in_scope = RoleAssignment.objects.filter(
        Q(community_id__in=scope.community_ids) | Q(grid_id__in=grids)
    ).values("user_id")
    return User.objects.filter(pk__in=in_scope)


def access_staff(user: Any, pk: Any) -> User:
    try:
        return staff_visible_to(user).get(pk=pk)
    except (User.DoesNotExist, ValueError):
        raise NotFound("未找到 / not found")


def communities_visible_to(user: Any) -> QuerySet[Community]:
    return Community.objects.visible_to(user)  # type: ignore[return-value]


def grids_visible_to(user: Any) -> QuerySet[Grid]:
    return Grid.objects.visible_to(user).select_related("community")  # type: ignore[return-value]
