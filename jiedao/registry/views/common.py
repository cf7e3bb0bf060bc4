"""Helpers shared by the register's views."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse

from jiedao.core.errors import JiedaoError, NotFound
from jiedao.org.models import Community, Grid
from jiedao.registry.queries import READ_ROLES, communities_for, compounds_visible_to, grids_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filter_choices(user: Any) -> dict[str, Any]:
    """Options for the list filters: the communities, grids and compounds the user may see."""
    return {
        "communities": list(communities_for(user, READ_ROLES)),
        "grids": list(grids_for(user, READ_ROLES)),
        "compounds": list(compounds_visible_to(user).select_related(None).only("pk", "name")[:500]),
    }


def attach_error(form: forms.Form, exc: JiedaoError) -> None:
    """Show an action's error on the field it names (or on the form)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def unit_or_404(
    user: Any, community_id: Any, grid_id: Any, roles: tuple[str, ...]
) -> tuple[Community | None, Grid | None]:
    """A posted community/grid outside the user's area reads as not found, like any other row."""
    community = grid = None
    if community_id:
        try:
            community = communities_for(user, roles).get(pk=community_id)
        except (Community.DoesNotExist, ValueError, TypeError):
            raise NotFound("未找到该社区 / community not found")
    if grid_id:
        try:
            grid = grids_for(user, roles).get(pk=grid_id)
        except (Grid.DoesNotExist, ValueError, TypeError):
            raise NotFound("未找到该网格 / grid not found")
    return community, grid


def download(data: bytes, filename: str, content_type: str = XLSX) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def hx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
