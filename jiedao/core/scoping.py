"""Scoping: each worker sees only their own area. `visible_to(user)` builds every list and
`access(queryset, user, pk)` fetches every single row; out of scope reads as not found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

from jiedao.core.errors import NotFound, Unauthenticated


@dataclass(frozen=True)
class Scope:
    """The area a user may see: everything, or a set of communities and grids."""

    everything: bool = False
    community_ids: frozenset[int] = field(default_factory=frozenset)
    grid_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return not self.everything and not self.community_ids and not self.grid_ids

    def covers(self, community_id: int | None, grid_id: int | None) -> bool:
        if self.everything:
            return True
        return (community_id is not None and community_id in self.community_ids) or (
            grid_id is not None and grid_id in self.grid_ids
        )


NOTHING = Scope()


def scope_of(user: Any) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False):
        return NOTHING
    return user.scope  # org.User computes it from its role assignments


def scope_q(scope: Scope, community_field: str = "community", grid_field: str = "grid") -> Q:
    if scope.everything:
        return Q()
    if scope.empty:
        return Q(pk__in=[])
    q = Q(pk__in=[])
    if scope.community_ids:
        q |= Q(**{f"{community_field}_id__in": scope.community_ids})
    if scope.grid_ids:
        q |= Q(**{f"{grid_field}_id__in": scope.grid_ids})
    return q


M = TypeVar("M", bound=models.Model)


class ScopedQuerySet(models.QuerySet[M]):
    """For models that carry `community` and `grid` foreign keys (names set on the model as
    `scope_community_field` / `scope_grid_field` when they differ)."""

    def visible_to(self, user: Any) -> ScopedQuerySet[M]:
        cf = getattr(self.model, "scope_community_field", "community")
        gf = getattr(self.model, "scope_grid_field", "grid")
        return self.filter(scope_q(scope_of(user), cf, gf))


def access(queryset: Any, user: Any, pk: Any) -> Any:
    """One row by primary key within the user's scope, or NotFound — never a hint that it exists."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise Unauthenticated(_("Please sign in."))
    try:
        return queryset.visible_to(user).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))
