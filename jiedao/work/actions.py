"""Writes for work items. Other apps create items through `do_create_work_item` from their own
actions (inside their transaction); people start, complete, cancel and reassign them; the periodic
job escalates overdue ones. Each action is atomic and leaves an audit entry.

`actor=None` is the system (jobs, importers, other apps' automated rules): it skips the role checks.
Creating an item does not check the actor's scope: the calling app's action has already decided
that the work is needed."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.org.choices import Role, UnitLevel
from jiedao.org.models import Community, Grid, RoleAssignment, User
from jiedao.work.choices import OPEN_STATUSES, Priority, WorkStatus
from jiedao.work.exports import work_workbook
from jiedao.work.models import WorkItem
from jiedao.work.queries import can_act, can_supervise, is_visible

log = logging.getLogger(__name__)


def _subject_fields(subject: models.Model | None) -> dict[str, str]:
    if subject is None:
        return {}
    url = ""
    get_url = getattr(subject, "get_absolute_url", None)
    if callable(get_url):
        try:
            url = str(get_url())[:300]
        except Exception:  # a subject without a page still makes a valid item
            url = ""
    return {
        "subject_type": subject._meta.label_lower,
        "subject_id": str(subject.pk),
        "subject_url": url,
        "subject_label": str(subject)[:200],
    }


def _check_unit(community: Community | None, grid: Grid | None) -> Community | None:
    if grid is not None:
        if community is None:
            return grid.community
        if grid.community_id != community.pk:
            raise InvalidInput(_("This grid belongs to another community."), field="grid")
    return community


def do_create_work_item(
    *,
    actor: Any,
    kind: str,
    title: str,
    due_at: dt.datetime,
    community: Community | None,
    grid: Grid | None,
    assignee: User | None = None,
    role: str = "",
    priority: int = Priority.NORMAL,
    subject: models.Model | None = None,
    detail: str = "",
    dedupe_key: str = "",
) -> WorkItem:
    """A new work item; the same non-empty `dedupe_key` twice returns the first item unchanged."""
    dedupe_key = (dedupe_key or "").strip()
    if dedupe_key:
        existing = WorkItem.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    kind = (kind or "").strip()
    title = (title or "").strip()
    if not kind:
        raise InvalidInput(_("A work item needs a kind."), field="kind")
    if not title:
        raise InvalidInput(_("A work item needs a title."), field="title")
    if len(title) > 200:
        raise InvalidInput(_("The title is longer than 200 characters."), field="title")
    if len(dedupe_key) > 150:
        raise InvalidInput(_("The dedupe key is longer than 150 characters."), field="dedupe_key")
    if not isinstance(due_at, dt.datetime):
        raise InvalidInput(_("The due time must be a date and time."), field="due_at")
    if timezone.is_naive(due_at):
        due_at = timezone.make_aware(due_at)
    if role and role not in Role.values:
        raise InvalidInput(_("Unknown role: %(role)s") % {"role": role}, field="role")
    if priority not in Priority.values:
        raise InvalidInput(_("Unknown priority: %(p)s") % {"p": priority}, field="priority")
    community = _check_unit(community, grid)
    item = WorkItem(
        kind=kind[:50], title=title, detail=detail or "", community=community, grid=grid,
        assignee=assignee, role=role or "", due_at=due_at, priority=priority, dedupe_key=dedupe_key,
        created_by=actor if getattr(actor, "pk", None) else None,
        updated_by=actor if getattr(actor, "pk", None) else None,
        **_subject_fields(subject),
    )  # fmt: skip
    try:
        with transaction.atomic():
            item.save()
            audit.record(
                actor=actor, action="work.create", obj=item,
                changes={"kind": item.kind, "title": item.title, "due_at": item.due_at,
                         "assignee": assignee.username if assignee else "", "role": item.role,
                         "subject": f"{item.subject_type}#{item.subject_id}" if subject else ""},
            )  # fmt: skip
    except IntegrityError:
        # A concurrent caller created the same deduplicated item first: theirs is the item.
        if dedupe_key:
            existing = WorkItem.objects.filter(dedupe_key=dedupe_key).first()
            if existing is not None:
                return existing
        raise
    return item


def do_create_work_items(*, actor: Any, items: list[WorkItem]) -> list[WorkItem]:
    """Many new work items at once (one list of a thousand people to verify, say), built by the
    calling app's action, with one audit entry per kind. Items whose `dedupe_key` exists already are
    left out; the returned list holds the items that now exist for every key, in input order."""
    if not items:
        return []
    keys = [i.dedupe_key for i in items if i.dedupe_key]
    existing: dict[str, WorkItem] = {}
    for start in range(0, len(keys), 900):
        existing.update(
            {w.dedupe_key: w for w in WorkItem.objects.filter(dedupe_key__in=keys[start : start + 900])}
        )
    user = actor if getattr(actor, "pk", None) else None
    new: list[WorkItem] = []
    for item in items:
        if not item.kind or not item.title or not isinstance(item.due_at, dt.datetime):
            raise InvalidInput(_("A work item needs a kind, a title and a due time."), field="items")
        if item.role and item.role not in Role.values:
            raise InvalidInput(_("Unknown role: %(role)s") % {"role": item.role}, field="role")
        if item.dedupe_key and item.dedupe_key in existing:
            continue
        item.title = item.title[:200]
        item.created_by = item.updated_by = user
        new.append(item)
        if item.dedupe_key:
            existing[item.dedupe_key] = item
    with transaction.atomic():
        WorkItem.objects.bulk_create(new, batch_size=1000)
        kinds: dict[str, int] = {}
        for item in new:
            kinds[item.kind] = kinds.get(item.kind, 0) + 1
        for kind, count in sorted(kinds.items()):
            audit.record(
                actor=actor, action="work.create_many", object_type="work.workitem",
                changes={"kind": kind, "count": count},
            )  # fmt: skip
    return [existing.get(i.dedupe_key, i) if i.dedupe_key else i for i in items]


def do_move_work_item_due(*, actor: Any, item: WorkItem, due_at: dt.datetime, reason: str) -> WorkItem:
    """Bring an open item's deadline forward (or back) because its subject's deadline changed; the
    assignee stays, whatever has become of their roles since (a rule of the calling app, not a choice of
    a person, so no supervisor check)."""
    with transaction.atomic():
        fresh = _lock(item)
        _require_open(fresh)
        before = fresh.due_at
        fresh.due_at = due_at
        fresh.escalated_at = None if due_at > timezone.now() else fresh.escalated_at
        fresh.save(update_fields=["due_at", "escalated_at", "updated_at"])
        audit.record(
            actor=actor,
            action="work.move_due",
            obj=fresh,
            reason=reason,
            changes={"due_at": [before, due_at]},
        )
    _refresh(item, fresh, ["due_at", "escalated_at", "updated_at"])
    return item


def _check_act(actor: Any, item: WorkItem) -> None:
    if actor is None:
        return
    if not is_visible(actor, item):
        raise NotFound(_("Work item not found."))
    if not can_act(actor, item):
        raise Forbidden(_("Your role may look at this item but not work on it."))


def _check_supervise(actor: Any, item: WorkItem) -> None:
    if actor is None:
        return
    if not is_visible(actor, item):
        raise NotFound(_("Work item not found."))
    if not can_supervise(actor, item):
        raise Forbidden(_("Only command and community staff may cancel or reassign work."))


def _require_open(item: WorkItem) -> None:
    if item.status not in OPEN_STATUSES:
        raise Conflict(
            _("This item is already %(status)s.") % {"status": item.get_status_display()}, field="status"
        )


def _lock(item: WorkItem) -> WorkItem:
    """Re-read the row under a lock so two phones finishing the same item cannot both win."""
    return WorkItem.objects.select_for_update().get(pk=item.pk)


def _refresh(item: WorkItem, fresh: WorkItem, fields: list[str]) -> None:
    for name in fields:
        setattr(item, name, getattr(fresh, name))


def do_start_work_item(*, actor: Any, item: WorkItem) -> WorkItem:
    _check_act(actor, item)
    with transaction.atomic():
        fresh = _lock(item)
        if fresh.status != WorkStatus.OPEN:
            _refresh(item, fresh, ["status"])
            raise Conflict(
                _("Only an open item can be started; this one is %(status)s.")
                % {"status": fresh.get_status_display()},
                field="status",
            )
        fresh.status = WorkStatus.IN_PROGRESS
        fresh.started_at = timezone.now()
        fresh.updated_by = actor
        fresh.save(update_fields=["status", "started_at", "updated_by", "updated_at"])
        audit.record(actor=actor, action="work.start", obj=fresh, changes={"status": ["open", "in_progress"]})
    _refresh(item, fresh, ["status", "started_at", "updated_at"])
    return item


def do_complete_work_item(*, actor: Any, item: WorkItem, outcome: str) -> WorkItem:
    """Done, with what was found or done (required: the next person reads it)."""
    _check_act(actor, item)
    outcome = (outcome or "").strip()
    if not outcome:
        raise InvalidInput(_("Write what was done before marking the item done."), field="outcome")
    if len(outcome) > 2000:
        raise InvalidInput(_("The outcome is longer than 2000 characters."), field="outcome")
    with transaction.atomic():
        fresh = _lock(item)
        try:
            _require_open(fresh)
        except Conflict:
            _refresh(item, fresh, ["status", "outcome", "done_at"])
            raise
        before = fresh.status
        fresh.status = WorkStatus.DONE
        fresh.done_at = timezone.now()
        fresh.outcome = outcome
        fresh.updated_by = actor
        fresh.save(update_fields=["status", "done_at", "outcome", "updated_by", "updated_at"])
        audit.record(
            actor=actor, action="work.complete", obj=fresh,
            changes={"status": [before, "done"], "outcome": outcome},
        )  # fmt: skip
    _refresh(item, fresh, ["status", "done_at", "outcome", "updated_at"])
    return item


def do_cancel_work_item(*, actor: Any, item: WorkItem, reason: str) -> WorkItem:
    _check_supervise(actor, item)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the item is cancelled."), field="reason")
    with transaction.atomic():
        fresh = _lock(item)
        _require_open(fresh)
        before = fresh.status
        fresh.status = WorkStatus.CANCELLED
        fresh.done_at = timezone.now()
        fresh.outcome = reason
        fresh.updated_by = actor
        fresh.save(update_fields=["status", "done_at", "outcome", "updated_by", "updated_at"])
        audit.record(
            actor=actor, action="work.cancel", obj=fresh, reason=reason,
            changes={"status": [before, "cancelled"]},
        )  # fmt: skip
    _refresh(item, fresh, ["status", "done_at", "outcome", "updated_at"])
    return item


def _holds_role_over(user: User, item: WorkItem, roles: tuple[str, ...] | None = None) -> bool:
    if not user.is_active:
        return False
    scope = user.scope_for_role(*(roles or tuple(user.roles)))
    return scope.covers(item.community_id, item.grid_id)


def do_reassign_work_item(
    *,
    actor: Any,
    item: WorkItem,
    assignee: User | None = None,
    role: str = "",
    due_at: dt.datetime | None = None,
    reason: str = "",
) -> WorkItem:
    """Give the item to a person (who must hold a role over its area) and/or a role; optionally a new
    due time. A new due time in the future lets the item escalate again if it is missed again."""
    _check_supervise(actor, item)
    role = (role or "").strip()
    if role and role not in Role.values:
        raise InvalidInput(_("Unknown role: %(role)s") % {"role": role}, field="role")
    if assignee is None and not role:
        raise InvalidInput(_("Choose a person or a role to give the item to."), field="assignee")
    if assignee is not None and not _holds_role_over(assignee, item, (role,) if role else None):
        raise InvalidInput(
            _("%(name)s holds no matching role in this item's area.") % {"name": assignee},
            field="assignee",
        )
    if due_at is not None and timezone.is_naive(due_at):
        due_at = timezone.make_aware(due_at)
    with transaction.atomic():
        fresh = _lock(item)
        _require_open(fresh)
        before = {"assignee": fresh.assignee.username if fresh.assignee else "", "role": fresh.role,
                  "due_at": fresh.due_at}  # fmt: skip
        fresh.assignee = assignee
        fresh.role = role
        fields = ["assignee", "role", "updated_by", "updated_at"]
        if due_at is not None:
            fresh.due_at = due_at
            fields.append("due_at")
            if due_at > timezone.now():
                fresh.escalated_at = None
                fresh.escalated_to = None
                fields += ["escalated_at", "escalated_to"]
        fresh.updated_by = actor
        fresh.save(update_fields=fields)
        after = {"assignee": assignee.username if assignee else "", "role": role, "due_at": fresh.due_at}
        audit.record(
            actor=actor, action="work.reassign", obj=fresh, reason=reason, changes=audit.diff(before, after)
        )
    _refresh(item, fresh, ["assignee", "assignee_id", "role", "due_at", "escalated_at", "escalated_to_id"])
    return item


# ---- escalation -------------------------------------------------------------------------------------


def _first_active(role: str, **unit: Any) -> dict[Any, User]:
    """{unit id: user} — the earliest active assignment of `role` per unit, active accounts only."""
    rows = (
        RoleAssignment.objects.filter(role=role, active=True, user__is_active=True, **unit)
        .select_related("user")
        .order_by("pk")
    )
    out: dict[Any, User] = {}
    for a in rows:
        out.setdefault(a.community_id if role == Role.COMMUNITY_STAFF else None, a.user)
    return out


def supervisor_for(item: WorkItem, staff: dict[Any, User], command: User | None) -> User | None:
    """An item in a grid goes to its community's staff; a community-level (or subdistrict-level)
    item, or one whose community has no staff, goes to command. Nobody is escalated their own item
    while someone else can take it."""
    candidate = staff.get(item.community_id) if item.grid_id else None
    if candidate is not None and candidate.pk != item.assignee_id:
        return candidate
    if command is not None and command.pk != item.assignee_id:
        return command
    return candidate or command


def do_escalate_overdue(now: dt.datetime | None = None) -> list[WorkItem]:
    """Escalate open items more than WORK_ESCALATE_AFTER_MINUTES past due (urgent ones: once past due) to
    their supervisor.
    An item escalates at most once: the conditional update only succeeds while `escalated_at` is empty."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.WORK_ESCALATE_AFTER_MINUTES)
    # Urgent items (a fever, a positive test, an urgent medical need) escalate as soon as they are late.
    late = Q(due_at__lt=cutoff) | Q(priority=Priority.URGENT, due_at__lt=now)
    due = list(
        WorkItem.objects.filter(late, status__in=OPEN_STATUSES, escalated_at__isnull=True)
        .order_by("due_at", "pk")
        .only("pk", "community_id", "grid_id", "assignee_id", "due_at", "title")
    )
    if not due:
        return []
    community_ids = {i.community_id for i in due if i.grid_id and i.community_id}
    staff = _first_active(
        Role.COMMUNITY_STAFF, level=UnitLevel.COMMUNITY, community_id__in=community_ids
    ) if community_ids else {}  # fmt: skip
    command = _first_active(Role.COMMAND, level=UnitLevel.SUBDISTRICT).get(None)
    escalated: list[WorkItem] = []
    for item in due:
        target = supervisor_for(item, staff, command)
        if target is None:
            log.warning("work item %s is overdue but nobody supervises it", item.pk)
            continue
        with transaction.atomic():
            won = WorkItem.objects.filter(
                pk=item.pk, escalated_at__isnull=True, status__in=OPEN_STATUSES
            ).update(escalated_at=now, escalated_to=target, updated_at=now)
            if not won:
                continue  # completed or escalated by another run in the meantime
            item.escalated_at, item.escalated_to = now, target
            audit.record(
                actor=None, action="work.escalate", obj=item,
                changes={"escalated_to": target.username, "due_at": item.due_at},
                reason=f"overdue by more than {settings.WORK_ESCALATE_AFTER_MINUTES} minutes",
            )  # fmt: skip
        escalated.append(item)
    return escalated


def do_export_work_items(*, actor: Any, items: Any, filters: dict[str, Any]) -> bytes:
    """The filtered work list as an Excel workbook; the export is on record."""
    content, rows = work_workbook(items)
    with transaction.atomic():
        audit.record(
            actor=actor, action="work.export", object_type="work.workitem",
            changes={"filters": filters, "rows": rows},
        )  # fmt: skip
    return content
