"""Reads for nucleic-acid testing: who runs which site, who sees which round, and the public site list."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from jiedao.control.queries import can, role_scope
from jiedao.core.errors import NotFound, Unauthenticated
from jiedao.nat.choices import SiteStatus
from jiedao.nat.models import SamplingSite, TestingRound
from jiedao.org.choices import Role

MANAGE_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF)  # set up sites (the command centre: rounds too)
REGISTER_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.SAMPLER)
READ_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.SAMPLER, Role.DOCTOR, Role.AUDITOR)


def parse_id(value: Any) -> int | None:
    """A primary key from a query string or form: ASCII digits, at most 18 (anything else is None, so a
    crafted value reads as "not given", never a 500)."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text) or None


def _authenticated(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def can_manage_in(user: Any, community_id: int | None) -> bool:
    """The command centre anywhere; a community office in its own community (None: subdistrict-wide only)."""
    if not can(user, MANAGE_ROLES):
        return False
    scope = role_scope(user, MANAGE_ROLES)
    return scope.everything or (community_id is not None and community_id in scope.community_ids)


def can_staff_site(user: Any, site: SamplingSite) -> bool:
    """Samplers listed on the site, and whoever manages sites in its community."""
    if can_manage_in(user, site.community_id):
        return True
    return can(user, (Role.SAMPLER,)) and site.staff.filter(pk=user.pk).exists()


def public_sites() -> QuerySet[SamplingSite]:
    """What the public map shows: sites that are not closed, without anything personal."""
    return (
        SamplingSite.objects.exclude(status=SiteStatus.CLOSED)
        .select_related("community")
        .defer("community__geometry")
        .only(
            "name",
            "address",
            "lat",
            "lng",
            "hours",
            "lanes",
            "status",
            "queue_length",
            "queue_updated_at",
            "community__name",
        )
    )


def sites_for(user: Any) -> QuerySet[SamplingSite]:
    """The sites a user works with: all for the offices in scope, their own for samplers."""
    if not _authenticated(user):
        return SamplingSite.objects.none()
    if can(user, MANAGE_ROLES):
        scope = role_scope(user, MANAGE_ROLES)
        qs = (
            SamplingSite.objects.all()
            if scope.everything
            else SamplingSite.objects.filter(community_id__in=scope.community_ids)
        )
        return qs.select_related("community")
    if can(user, (Role.SAMPLER,)):
        return SamplingSite.objects.filter(staff=user).select_related("community")
    return SamplingSite.objects.none()


def access_site(user: Any, pk: Any) -> SamplingSite:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return sites_for(user).get(pk=pk)
    except (SamplingSite.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def open_rounds() -> QuerySet[TestingRound]:
    from jiedao.nat.choices import RoundStatus

    return TestingRound.objects.filter(status=RoundStatus.OPEN).order_by("-starts_at", "-pk")


def access_tube(user: Any, barcode: str) -> Any:
    """A tube for the command centre and the auditor, and for the office of the site's community."""
    from jiedao.nat.models import Tube

    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        tube = Tube.objects.select_related("site", "round", "pushed_list", "result_batch").get(
            barcode=str(barcode).upper()
        )
    except Tube.DoesNotExist:
        raise NotFound(_("Not found."))
    if can(user, (Role.COMMAND, Role.AUDITOR)) and role_scope(user, (Role.COMMAND, Role.AUDITOR)).everything:
        return tube
    if can_manage_in(user, tube.site.community_id):
        return tube
    raise NotFound(_("Not found."))


def access_round(user: Any, pk: Any) -> TestingRound:
    """Rounds are the subdistrict's: every office, grid worker and auditor may open one (what they see
    of its coverage is their own area)."""
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return TestingRound.objects.get(pk=pk)
    except (TestingRound.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def samplers_in(community_ids: list[int]) -> QuerySet[Any]:
    """Active users holding the sampler role in these communities (or their grids) or subdistrict-wide:
    who may staff a site there."""
    from django.db.models import Q

    from jiedao.org.models import User

    return (
        User.objects.filter(is_active=True, assignments__role=Role.SAMPLER, assignments__active=True)
        .filter(
            Q(assignments__community_id__in=community_ids)
            | Q(assignments__grid__community_id__in=community_ids)
            | Q(assignments__level="subdistrict")
        )
        .distinct()
        .order_by("username")
    )
