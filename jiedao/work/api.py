"""Work API: my items or all visible items (filtered, paginated), and completing an item.
API keys need `work.read` to list and `work.write` to complete."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from jiedao.core.errors import Forbidden
from jiedao.core.listing import listing
from jiedao.org.auth import require_permission
from jiedao.work.actions import do_complete_work_item
from jiedao.work.choices import Priority, WorkStatus
from jiedao.work.filters import DEFAULT_SORT, SORTABLE, WorkFilter
from jiedao.work.models import WorkItem
from jiedao.work.queries import access_work_item, inbox, work_visible_to

router = Router(tags=["work"])


class WorkItemOut(Schema):
    id: int
    kind: str
    title: str
    detail: str
    status: str
    priority: int
    due_at: dt.datetime
    overdue: bool
    community_id: int | None
    grid_id: int | None
    assignee: str | None
    role: str
    subject_type: str
    subject_id: str
    subject_url: str
    subject_label: str
    done_at: dt.datetime | None
    outcome: str
    escalated_at: dt.datetime | None
    escalated_to: str | None


class WorkItemPage(Schema):
    count: int
    page: int
    pages: int
    per_page: int
    results: list[WorkItemOut]


class WorkItemQuery(Schema):
    view: Literal["mine", "scope"] = "mine"
    q: str = ""
    status: Literal["", "open_any", "open", "in_progress", "done", "cancelled"] = ""
    kind: str = ""
    assignee: str = ""
    priority: Priority | None = None
    overdue: bool = False
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = 25


class CompleteIn(Schema):
    outcome: str


def item_out(item: WorkItem, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": item.pk, "kind": item.kind, "title": item.title, "detail": item.detail,
        "status": item.status, "priority": item.priority, "due_at": item.due_at,
        "overdue": item.status in (WorkStatus.OPEN, WorkStatus.IN_PROGRESS) and item.due_at < now,
        "community_id": item.community_id, "grid_id": item.grid_id,
        "assignee": item.assignee.username if item.assignee else None, "role": item.role,
        "subject_type": item.subject_type, "subject_id": item.subject_id, "subject_url": item.subject_url,
        "subject_label": item.subject_label, "done_at": item.done_at, "outcome": item.outcome,
        "escalated_at": item.escalated_at,
        "escalated_to": item.escalated_to.username if item.escalated_to else None,
    }  # fmt: skip


@router.get("/items", response=WorkItemPage, url_name="work_items", summary="List work items")
def list_items(request: HttpRequest, filters: Query[WorkItemQuery]) -> dict[str, Any]:
    """`view=mine` (default): my inbox — assigned or escalated to me, or unassigned for my role in my
    area. `view=scope`: every item I may see. Filters: `q`, `status` (`open_any` = open or in
    progress), `kind`, `assignee` (`me`, `none` or a user id), `priority`, `overdue`."""
    require_permission(request, "work.read")
    if not getattr(request.user, "roles", None):
        raise Forbidden(_("Your account has no role."))
    base = inbox(request.user) if filters.view == "mine" else work_visible_to(request.user)
    form = WorkFilter(request.GET, user=request.user)
    form.raise_first_error()
    lst = listing(request, form.apply(base), sortable=SORTABLE, default_sort=DEFAULT_SORT)
    now = timezone.now()
    return {
        "count": lst.page.paginator.count,
        "page": lst.page.number,
        "pages": lst.page.paginator.num_pages,
        "per_page": lst.page.paginator.per_page,
        "results": [item_out(i, now) for i in lst.rows],
    }


@router.post(
    "/items/{int:item_id}/complete",
    response=WorkItemOut,
    url_name="work_item_complete",
    summary="Mark a work item done",
)
def complete_item(request: HttpRequest, item_id: int, payload: CompleteIn) -> dict[str, Any]:
    require_permission(request, "work.write")
    item = access_work_item(request.user, item_id)
    do_complete_work_item(actor=request.user, item=item, outcome=payload.outcome)
    return item_out(item, timezone.now())
