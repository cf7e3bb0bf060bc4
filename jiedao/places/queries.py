"""Reads for places: the scoped list, one place by id or venue code, and what a user may do with it.

Visibility is by role: only the roles in `PLACE_VIEWERS` see places, and only in the area where they
hold one of those roles (a doctor in community B who is an inspector in A sees A's places only)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from jiedao.core.errors import Forbidden, NotFound, Unauthenticated
from jiedao.core.scoping import Scope, scope_q
from jiedao.org.models import Community, Grid
from jiedao.places.choices import CONTACT_REVEALERS, PLACE_DEACTIVATORS, PLACE_EDITORS, PLACE_VIEWERS
from jiedao.places.models import Place


def _scope(user: Any, roles: tuple[str, ...]) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False):
        return Scope()
    return user.scope_for_role(*roles)


def viewer_scope(user: Any) -> Scope:
    return _scope(user, PLACE_VIEWERS)


def editor_scope(user: Any) -> Scope:
    return _scope(user, PLACE_EDITORS)


def can_view_places(user: Any) -> bool:
    return not viewer_scope(user).empty


def places_visible_to(user: Any) -> QuerySet[Place]:
    """Every place `user` may see, with community and grid joined (lists never query per row)."""
    return Place.objects.filter(scope_q(viewer_scope(user))).select_related("community", "grid")


def require_viewer(user: Any) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        raise Unauthenticated(_("Please sign in."))
    if not user.has_role(*PLACE_VIEWERS):
        raise Forbidden(_("Your roles do not include access to places."))


def access_place(user: Any, pk: Any) -> Place:
    """One place within the user's scope, or NotFound (out of scope reads the same as missing)."""
    require_viewer(user)
    try:
        return places_visible_to(user).get(pk=pk)
    except (Place.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Place not found."))


def public_place(venue_code: str) -> Place:
    """The place behind a scanned venue code, for the public landing page (no scoping: the code is
    printed on the door; the page shows only name and kind)."""
    place = Place.objects.filter(venue_code=(venue_code or "").strip().upper(), active=True).first()
    if place is None:
        raise NotFound(_("No active place has this venue code."))
    return place


def can_edit(user: Any, place: Place) -> bool:
    return editor_scope(user).covers(place.community_id, place.grid_id)


def can_deactivate(user: Any, place: Place) -> bool:
    return _scope(user, PLACE_DEACTIVATORS).covers(place.community_id, place.grid_id)


def can_reveal_contact(user: Any, place: Place) -> bool:
    return _scope(user, CONTACT_REVEALERS).covers(place.community_id, place.grid_id)


def editable_communities(user: Any) -> QuerySet[Community]:
    """Communities a user may file a place in: whole communities they edit, and those of their grids."""
    scope = editor_scope(user)
    if scope.everything:
        return Community.objects.all()
    grid_communities = Grid.objects.filter(pk__in=scope.grid_ids).values("community_id")
    return Community.objects.filter(pk__in=scope.community_ids) | Community.objects.filter(
        pk__in=grid_communities
    )


def editable_grids(user: Any) -> QuerySet[Grid]:
    scope = editor_scope(user)
    qs = Grid.objects.select_related("community")
    if scope.everything:
        return qs.all()
    return qs.filter(community_id__in=scope.community_ids) | qs.filter(pk__in=scope.grid_ids)


def counts_by_kind(user: Any) -> dict[str, int]:
    """{kind: number of active places} in the user's scope, in one query."""
    rows = (
        places_visible_to(user)
        .filter(active=True)
        .order_by()
        .values("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    return dict(rows)
