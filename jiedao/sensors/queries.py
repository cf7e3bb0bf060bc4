"""Reads for door sensors: who sees which device, binding and alert."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from jiedao.control.queries import can, can_in_area, role_scope
from jiedao.core.errors import NotFound, Unauthenticated
from jiedao.core.scoping import scope_q
from jiedao.org.choices import Role
from jiedao.sensors.models import Binding, DoorSensor, SensorAlert

# Door events say when a quarantined person left home: the office, the grid, the doctor, the police.
READ_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.DOCTOR, Role.POLICE, Role.AUDITOR)
# Register, put on and take off devices; grant windows.
MANAGE_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF)
# Follow alerts up: acknowledge, check, close; grant a window.
HANDLE_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.POLICE, Role.DOCTOR)

__all__ = ["HANDLE_ROLES", "MANAGE_ROLES", "READ_ROLES", "can", "can_in_area"]


def _authenticated(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def devices_visible_to(user: Any) -> QuerySet[DoorSensor]:
    """The device stock is the subdistrict's: the offices see every device."""
    if not can(user, (*MANAGE_ROLES, Role.AUDITOR)):
        return DoorSensor.objects.none()
    return DoorSensor.objects.select_related("vendor")


def access_device(user: Any, pk: Any) -> DoorSensor:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return devices_visible_to(user).get(pk=pk)
    except (DoorSensor.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def bindings_visible_to(user: Any) -> QuerySet[Binding]:
    if not can(user, READ_ROLES):
        return Binding.objects.none()
    return (
        Binding.objects.filter(scope_q(role_scope(user, READ_ROLES)))
        .select_related("device", "household", "case__person", "community", "grid")
        .defer("community__geometry", "grid__geometry")
    )


def access_binding(user: Any, pk: Any) -> Binding:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return bindings_visible_to(user).get(pk=pk)
    except (Binding.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def alerts_visible_to(user: Any) -> QuerySet[SensorAlert]:
    if not can(user, READ_ROLES):
        return SensorAlert.objects.none()
    return (
        SensorAlert.objects.filter(scope_q(role_scope(user, READ_ROLES)))
        .select_related("device", "binding__household", "case__person", "community", "grid", "work_item")
        .defer("community__geometry", "grid__geometry")
    )


def access_alert(user: Any, pk: Any) -> SensorAlert:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return alerts_visible_to(user).get(pk=pk)
    except (SensorAlert.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))
