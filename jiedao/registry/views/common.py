"""Helpers shared by the register's views."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from jiedao.core.errors import NotFound
from jiedao.org.models import Community, Grid
from jiedao.registry.queries import READ_ROLES, communities_for, compounds_visible_to, grids_for


def filter_choices(user: Any) -> dict[str, Any]:
    """Options for the list filters: the communities, grids and compounds the user may see."""
    return {
        "communities": list(communities_for(user, READ_ROLES)),
        "grids": list(grids_for(user, READ_ROLES)),
        "compounds": list(compounds_visible_to(user).select_related(None).only("pk", "name")[:500]),
    }


def unit_or_404(
    user: Any, community_id: Any, grid_id: Any, roles: tuple[str, ...]
) -> tuple[Community | None, Grid | None]:
    """A posted community/grid outside the user's area reads as not found, like any other row."""
    community = grid = None
    if community_id:
        try:
            community = communities_for(user, roles).get(pk=community_id)
        except (Community.DoesNotExist, ValueError, TypeError):
            raise NotFound(_("Community not found."))
    if grid_id:
        try:
            grid = grids_for(user, roles).get(pk=grid_id)
        except (Grid.DoesNotExist, ValueError, TypeError):
            raise NotFound(_("Grid not found."))
    return community, grid


def hx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
