"""Reads for trace runs. Tracing looks at everyone's movements, so it is the command centre's alone
(the auditor reads); positive cases are offered as index cases."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from jiedao.control.choices import TestResult
from jiedao.control.models import CaseTest, ControlCase
from jiedao.control.queries import can, role_scope
from jiedao.core.errors import NotFound, Unauthenticated
from jiedao.org.choices import Role
from jiedao.tracing.models import TraceContact, TraceRun

READ_ROLES = (Role.COMMAND, Role.AUDITOR)
RUN_ROLES = (Role.COMMAND,)  # start a trace and push its contacts to screening


def _authenticated(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def subdistrict_wide(user: Any, roles: tuple[str, ...]) -> bool:
    return can(user, roles) and role_scope(user, roles).everything


def runs_visible_to(user: Any) -> QuerySet[TraceRun]:
    if not subdistrict_wide(user, READ_ROLES):
        return TraceRun.objects.none()
    return TraceRun.objects.select_related("case__person", "created_by")


def access_run(user: Any, pk: Any) -> TraceRun:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return runs_visible_to(user).get(pk=pk)
    except (TraceRun.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def contacts_of(run: TraceRun) -> QuerySet[TraceContact]:
    return run.contacts.select_related("person", "via_person", "place")


def positive_cases() -> QuerySet[ControlCase]:
    """Cases with a positive test: the usual starting points of a trace, newest first."""
    positive = CaseTest.objects.filter(case=OuterRef("pk"), result=TestResult.POSITIVE)
    return (
        ControlCase.objects.filter(Exists(positive))
        .select_related("person", "community")
        .defer("community__geometry")
        .order_by("-created_at", "-pk")
    )


def access_index_case(user: Any, pk: Any) -> ControlCase:
    """Any case may be an index case for the command centre (a trace can start before a result)."""
    if not subdistrict_wide(user, RUN_ROLES):
        raise NotFound(_("Not found."))
    try:
        return ControlCase.objects.select_related("person").get(pk=pk)
    except (ControlCase.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))
