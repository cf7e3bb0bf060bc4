"""Reads for control: who sees which case, and the verified key persons still waiting for one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.control.choices import OPEN_STATUSES, CaseStatus
from jiedao.control.models import ControlCase, HealthCheck, SupplyRequest, Transfer
from jiedao.core.errors import NotFound, Unauthenticated
from jiedao.core.scoping import Scope, scope_q
from jiedao.org.choices import Role
from jiedao.screening.choices import KeyPersonStatus
from jiedao.screening.models import KeyPerson

# Health data: the office, the grid, the doctor and the police liaison — not volunteers.
READ_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.DOCTOR, Role.POLICE, Role.AUDITOR)
# Coercive status needs an office: opening, starting, changing and cancelling cases.
MANAGE_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF)
# Who records a check-in for the person (on a visit or a call).
CHECKIN_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.DOCTOR)
# Who records the steps of a closed-loop transfer (the police liaison escorts).
TRANSFER_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.POLICE)
# Who serves supply and counselling requests; volunteers see the request, never the health data.
SUPPLY_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.DOCTOR, Role.VOLUNTEER)


def _authenticated(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def role_scope(user: Any, roles: tuple[str, ...]) -> Scope:
    return user.scope_for_role(*roles) if _authenticated(user) else Scope()


def can(user: Any, roles: tuple[str, ...]) -> bool:
    return _authenticated(user) and user.has_role(*roles)


def can_in_area(user: Any, roles: tuple[str, ...], obj: Any) -> bool:
    return can(user, roles) and role_scope(user, roles).covers(obj.community_id, obj.grid_id)


def cases_visible_to(user: Any) -> QuerySet[ControlCase]:
    if not can(user, READ_ROLES):
        return ControlCase.objects.none()
    return (
        ControlCase.objects.filter(scope_q(role_scope(user, READ_ROLES)))
        .select_related("person", "community", "grid")
        .defer("community__geometry", "grid__geometry")
    )


def access_case(user: Any, pk: Any) -> ControlCase:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return cases_visible_to(user).get(pk=pk)
    except (ControlCase.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def waiting_for_a_case(user: Any) -> QuerySet[KeyPerson]:
    """Verified, classified key persons in the user's area whose measure is not over and who have no open
    case yet."""
    if not can(user, MANAGE_ROLES):
        return KeyPerson.objects.none()
    open_case = ControlCase.objects.filter(person=OuterRef("person"), status__in=OPEN_STATUSES)
    return (
        KeyPerson.objects.filter(
            scope_q(role_scope(user, MANAGE_ROLES)),
            status=KeyPersonStatus.CLASSIFIED,
            measure_end__gte=timezone.localdate(),  # a measure already over needs no case
        )
        .exclude(Exists(open_case))
        # A verification that already led to a case (since released) waits no more.
        .exclude(
            Exists(
                ControlCase.objects.filter(
                    key_person=OuterRef("pk"), created_at__gte=OuterRef("verified_at")
                ).exclude(status=CaseStatus.CANCELLED)
            )
        )
        .select_related("person", "community", "grid")
        .defer("community__geometry", "grid__geometry")
    )


def supplies_visible_to(user: Any) -> QuerySet[SupplyRequest]:
    """Supply and counselling requests in the user's area (volunteers included: a request shows what is
    needed and where, never health data)."""
    if not can(user, (*SUPPLY_ROLES, Role.AUDITOR)):
        return SupplyRequest.objects.none()
    return (
        SupplyRequest.objects.filter(scope_q(role_scope(user, (*SUPPLY_ROLES, Role.AUDITOR))))
        .select_related("case__person", "case__household", "community", "grid", "assignee")
        .defer("community__geometry", "grid__geometry")
    )


def access_supply(user: Any, pk: Any) -> SupplyRequest:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return supplies_visible_to(user).get(pk=pk)
    except (SupplyRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


# The doctor's list: missed and abnormal check-ins of the last two days.
ATTENTION_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.DOCTOR, Role.AUDITOR)
ATTENTION_HOURS = 48


def attention_checkins(user: Any, hours: int = ATTENTION_HOURS) -> QuerySet[HealthCheck]:
    """Missed or abnormal check-ins of open cases in the user's area, in the last `hours` hours."""
    if not can(user, ATTENTION_ROLES):
        return HealthCheck.objects.none()
    since = timezone.now() - dt.timedelta(hours=hours)
    scope = scope_q(role_scope(user, ATTENTION_ROLES), "case__community", "case__grid")
    return (
        HealthCheck.objects.filter(Q(abnormal=True) | Q(missed=True), slot_at__gte=since)
        .filter(scope, case__status__in=OPEN_STATUSES)
        .select_related("case__person", "case__community", "case__grid")
        .defer("case__community__geometry", "case__grid__geometry", "case__plan")
    )


def transfers_visible_to(user: Any) -> QuerySet[Transfer]:
    """Transfers in the user's area, for the roles that read cases (volunteers see none)."""
    if not can(user, READ_ROLES):
        return Transfer.objects.none()
    return (
        Transfer.objects.filter(scope_q(role_scope(user, READ_ROLES)))
        .select_related("case__person", "case__household", "site", "community", "grid")
        .defer("community__geometry", "grid__geometry")
    )


def access_transfer(user: Any, pk: Any) -> Transfer:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return transfers_visible_to(user).get(pk=pk)
    except (Transfer.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))
