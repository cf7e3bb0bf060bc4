"""The five-for-one care team (五包一): the slots of a home case's team, and who may fill each one.
The slots are configurable (`CONTROL_CARE_TEAM` setting, a list of org roles); by default the community
cadre, the grid worker, the doctor, the police liaison and a volunteer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from jiedao.org.choices import Role, UnitLevel
from jiedao.org.models import User
from jiedao.protocols.choices import MeasureType

DEFAULT_SLOTS = (Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.DOCTOR, Role.POLICE, Role.VOLUNTEER)
# Measures carried out at home, which need a full team before they start.
HOME_MEASURES = (MeasureType.HOME_QUARANTINE, MeasureType.HOME_MONITORING)


def slots() -> tuple[str, ...]:
    return tuple(getattr(settings, "CONTROL_CARE_TEAM", None) or DEFAULT_SLOTS)


def slot_label(slot: str) -> str:
    return str(Role(slot).label) if slot in Role.values else slot


def needs_team(case: Any) -> bool:
    return case.measure_type in HOME_MEASURES


def home_phase_ahead(case: Any) -> bool:
    """Whether any phase of the plan is at home (e.g. home monitoring after quarantine): the team must be
    named before it begins."""
    return any(p.get("type") in HOME_MEASURES for p in case.plan.get("phases", []))


def candidates(case: Any, slot: str) -> QuerySet[User]:
    """Active people holding the slot's role where the case is: in its grid, its community, or the
    whole subdistrict."""
    where = Q(assignments__level=UnitLevel.SUBDISTRICT)
    if case.community_id:
        where |= Q(assignments__level=UnitLevel.COMMUNITY, assignments__community_id=case.community_id)
    if case.grid_id:
        where |= Q(assignments__level=UnitLevel.GRID, assignments__grid_id=case.grid_id)
    return (
        User.objects.filter(
            where, is_active=True, is_service_account=False, assignments__role=slot, assignments__active=True
        )
        .distinct()
        .order_by("username")
    )


def missing(case: Any) -> list[str]:
    """The slots of the team nobody fills yet."""
    filled = set(case.team.values_list("slot", flat=True))
    return [s for s in slots() if s not in filled]
