"""Excel ledger of work items: the filtered work list as the office reviews it (core.ledger writes it)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core.ledger import Column, Ledger, write_xlsx
from jiedao.work.choices import Priority, WorkStatus


def _local(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def work_workbook(items: Any) -> Ledger:
    """Write `items` (assignee, community, grid, escalated_to joined) to xlsx; return bytes and rows."""
    columns = [
        Column(_("Title"), 36), Column(_("Kind"), 20), Column(_("Status"), 10), Column(_("Priority"), 8),
        Column(_("Due"), 17), Column(_("Community"), 12), Column(_("Grid"), 12), Column(_("Assignee"), 12),
        Column(_("Role"), 14), Column(_("Subject"), 24), Column(_("Done at"), 17), Column(_("Outcome"), 36),
        Column(_("Escalated to"), 12), Column(_("Escalated at"), 17),
    ]  # fmt: skip
    statuses, priorities = dict(WorkStatus.choices), dict(Priority.choices)

    def row(item: Any) -> list[Any]:
        return [
            item.title, item.kind, str(statuses.get(item.status, item.status)),
            str(priorities.get(item.priority, item.priority)), _local(item.due_at),
            item.community.name if item.community_id else "", item.grid.name if item.grid_id else "",
            str(item.assignee) if item.assignee_id else "", item.role, item.subject_label,
            _local(item.done_at), item.outcome, str(item.escalated_to) if item.escalated_to_id else "",
            _local(item.escalated_at),
        ]  # fmt: skip

    rows = items.iterator(chunk_size=2000) if hasattr(items, "iterator") else items
    return write_xlsx(_("Work items"), columns, map(row, rows))
