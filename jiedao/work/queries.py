"""Reads for work items: who sees which item, who may act on it, and the Today board.

- The *inbox* (the Today page) of a user: items assigned to them, items escalated to them, and
  unassigned items in their area either for a role they hold there or for no role at all.
- *Visible* items (lists, detail, API): the inbox, plus items for a role the user holds in that area
  even when a colleague is assigned (team cover), plus everything in the area of an office role
  (command, community staff, auditor) — supervisors and auditors see the whole area's work.
- *Acting* (start, complete): anyone to whom the item is visible, except through the read-only
  auditor role. Cancelling and reassigning: the supervisors (command, community staff) of the area.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core.errors import NotFound, Unauthenticated
from jiedao.core.scoping import Scope, scope_q
from jiedao.work.choices import OPEN_STATUSES, WorkStatus
from jiedao.work.models import WorkItem

SUPERVISOR_ROLES = ("command", "community_staff")
OFFICE_ROLES = ("command", "community_staff", "auditor")
READ_ONLY_ROLES = ("auditor",)
# The Today page shows this many cards per section; the work list has the rest.
SECTION_LIMIT = 50
UPCOMING_DAYS = 3

_RELATED = ("assignee", "escalated_to", "community", "grid")


def _signed_in(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _covers(scope: Scope, item: WorkItem) -> bool:
    return scope.covers(item.community_id, item.grid_id)


def _acting_roles(user: Any) -> tuple[str, ...]:
    return tuple(r for r in user.roles if r not in READ_ONLY_ROLES)


def _area_q(scope: Scope) -> Q:
    # scope_q gives an empty Q() for "everything", and Django drops an empty Q from an OR chain
    # (`Q(x) | Q()` is `Q(x)`): spell "every row" out so the OR keeps it.
    return Q(pk__isnull=False) if scope.everything else scope_q(scope)


def inbox_q(user: Any) -> Q:
    if not _signed_in(user):
        return Q(pk__in=[])
    unassigned = Q(assignee__isnull=True)
    q = Q(assignee=user) | Q(escalated_to=user)
    for role in sorted(user.roles):
        q |= unassigned & Q(role=role) & _area_q(user.scope_for_role(role))
    q |= unassigned & Q(role="") & _area_q(user.scope)
    return q


def visible_q(user: Any) -> Q:
    if not _signed_in(user):
        return Q(pk__in=[])
    q = inbox_q(user)
    for role in sorted(user.roles):
        q |= Q(role=role) & _area_q(user.scope_for_role(role))
    office = user.scope_for_role(*OFFICE_ROLES)
    if not office.empty:
        q |= _area_q(office)
    return q


def inbox(user: Any) -> QuerySet[WorkItem]:
    return WorkItem.objects.filter(inbox_q(user)).select_related(*_RELATED)


def work_visible_to(user: Any) -> QuerySet[WorkItem]:
    return WorkItem.objects.filter(visible_q(user)).select_related(*_RELATED)


def is_visible(user: Any, item: WorkItem) -> bool:
    """The same rule as visible_q, for one item already in memory (no query)."""
    if not _signed_in(user):
        return False
    if user.pk in (item.assignee_id, item.escalated_to_id):
        return True
    if item.role and item.role in user.roles and _covers(user.scope_for_role(item.role), item):
        return True
    if not item.role and item.assignee_id is None and _covers(user.scope, item):
        return True
    return _covers(user.scope_for_role(*OFFICE_ROLES), item)


def can_act(user: Any, item: WorkItem) -> bool:
    """May start or complete the item (see the module docstring)."""
    if not _signed_in(user):
        return False
    if user.pk in (item.assignee_id, item.escalated_to_id):
        return True
    if (
        item.role
        and item.role in user.roles
        and item.role not in READ_ONLY_ROLES
        and _covers(user.scope_for_role(item.role), item)
    ):
        return True
    if not item.role and item.assignee_id is None:
        acting = _acting_roles(user)
        if acting and _covers(user.scope_for_role(*acting), item):
            return True
    return can_supervise(user, item)


def can_supervise(user: Any, item: WorkItem) -> bool:
    return _signed_in(user) and _covers(user.scope_for_role(*SUPERVISOR_ROLES), item)


def can_see_work_list(user: Any) -> bool:
    return _signed_in(user) and user.has_role(*OFFICE_ROLES)


def access_work_item(user: Any, pk: Any) -> WorkItem:
    """One item the user may see, or NotFound (out of scope reads the same as missing)."""
    if not _signed_in(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return work_visible_to(user).get(pk=pk)
    except (WorkItem.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Work item not found."))


def overdue_q(now: dt.datetime | None = None) -> Q:
    return Q(status__in=OPEN_STATUSES, due_at__lt=now or timezone.now())


@dataclass
class TodayBoard:
    """What the Today page shows: counts, and up to SECTION_LIMIT items per bucket."""

    now: dt.datetime
    counts: dict[str, int]
    buckets: dict[str, list[WorkItem]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def day_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """Local midnight today, tomorrow, and the end of the upcoming window."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(days=1)
    return start, end, end + dt.timedelta(days=UPCOMING_DAYS)


def bucket_filters(now: dt.datetime) -> dict[str, Q]:
    start, end, upcoming_end = day_bounds(now)
    open_ = Q(status__in=OPEN_STATUSES)
    return {
        "overdue": open_ & Q(due_at__lt=now),
        "due_today": open_ & Q(due_at__gte=now, due_at__lt=end),
        "upcoming": open_ & Q(due_at__gte=end, due_at__lt=upcoming_end),
        "done_today": Q(status=WorkStatus.DONE, done_at__gte=start),
    }


BUCKET_ORDER = {
    "overdue": ("-priority", "due_at", "pk"),
    "due_today": ("due_at", "-priority", "pk"),
    "upcoming": ("due_at", "-priority", "pk"),
    "done_today": ("-done_at", "pk"),
}


def today_counts(user: Any, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    filters = bucket_filters(now)
    agg = WorkItem.objects.filter(inbox_q(user)).aggregate(
        **{key: Count("pk", filter=q) for key, q in filters.items()}
    )
    return {key: agg[key] or 0 for key in filters}


def today_board(user: Any, now: dt.datetime | None = None) -> TodayBoard:
    """Counts in one query, then one query per non-empty bucket: the page never queries per card."""
    now = now or timezone.now()
    counts = today_counts(user, now)
    board = TodayBoard(now=now, counts=counts)
    base = inbox(user)
    for key, q in bucket_filters(now).items():
        board.buckets[key] = (
            list(base.filter(q).order_by(*BUCKET_ORDER[key])[:SECTION_LIMIT]) if counts[key] else []
        )
    return board


def work_counts(user: Any, now: dt.datetime | None = None) -> dict[str, int]:
    """Open and overdue items visible to the user, in one query (for the dashboard)."""
    now = now or timezone.now()
    agg = WorkItem.objects.filter(visible_q(user)).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        overdue=Count("pk", filter=overdue_q(now)),
    )
    return {"open": agg["open"] or 0, "overdue": agg["overdue"] or 0}


def assignee_candidates(item: WorkItem) -> list[tuple[int, str]]:
    """Active staff holding any role over the item's area (subdistrict-wide, its community or its
    grid), as (user id, "name · role") for the reassign form. One query."""
    from jiedao.org.models import RoleAssignment

    area = Q(level="subdistrict")
    if item.community_id:
        area |= Q(level="community", community_id=item.community_id)
    if item.grid_id:
        area |= Q(level="grid", grid_id=item.grid_id)
    rows = (
        RoleAssignment.objects.filter(area, active=True, user__is_active=True)
        .exclude(role__in=READ_ONLY_ROLES)
        .select_related("user")
        .order_by("user__username", "role")
    )
    seen: dict[int, str] = {}
    for a in rows:
        label = f"{a.user} · {a.get_role_display()}"
        seen[a.user_id] = f"{seen[a.user_id]}, {a.get_role_display()}" if a.user_id in seen else label
    return list(seen.items())


def item_history(item: WorkItem) -> QuerySet[Any]:
    """The item's audit entries, newest first (the record of who did what)."""
    from jiedao.core.models import AuditEntry

    return AuditEntry.objects.filter(object_type=WorkItem._meta.label_lower, object_id=str(item.pk)).order_by(
        "-id"
    )
