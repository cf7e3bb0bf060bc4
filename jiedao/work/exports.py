"""Excel ledger of work items (XlsxWriter): the filtered work list as the office reviews it."""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.work.choices import Priority, WorkStatus

MAX_EXPORT_ROWS = 100_000


def _local(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def work_workbook(items: Any) -> tuple[bytes, int]:
    """Write `items` (assignee, community, grid, escalated_to joined) to xlsx; return bytes and rows."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet(_("Work items"))
    head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    columns = [
        (_("Title"), 36), (_("Kind"), 20), (_("Status"), 10), (_("Priority"), 8), (_("Due"), 17),
        (_("Community"), 12), (_("Grid"), 12), (_("Assignee"), 12), (_("Role"), 14),
        (_("Subject"), 24), (_("Done at"), 17), (_("Outcome"), 36), (_("Escalated to"), 12),
        (_("Escalated at"), 17),
    ]  # fmt: skip
    for col, (title, width) in enumerate(columns):
        sheet.write(0, col, title, head)
        sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    statuses, priorities = dict(WorkStatus.choices), dict(Priority.choices)
    rows = 0
    for item in items.iterator(chunk_size=2000) if hasattr(items, "iterator") else items:
        if rows >= MAX_EXPORT_ROWS:
            sheet.write(rows + 1, 0, _("Stopped after %(n)d rows: narrow the filter.") % {"n": rows})
            break
        values = [
            item.title, item.kind, str(statuses.get(item.status, item.status)),
            str(priorities.get(item.priority, item.priority)), _local(item.due_at),
            item.community.name if item.community_id else "", item.grid.name if item.grid_id else "",
            str(item.assignee) if item.assignee_id else "", item.role, item.subject_label,
            _local(item.done_at), item.outcome, str(item.escalated_to) if item.escalated_to_id else "",
            _local(item.escalated_at),
        ]  # fmt: skip
        for col, value in enumerate(values):
            sheet.write_string(rows + 1, col, value or "")
        rows += 1
    sheet.autofilter(0, 0, max(rows, 1), len(columns) - 1)
    book.close()
    return buf.getvalue(), rows
