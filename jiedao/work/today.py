"""The Today page's built-in sections (Overdue, Due today, Upcoming, Done today), registered with
the section registry like any other app's; they share one board computed once per request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.work.choices import OPEN_STATUSES, WorkStatus
from jiedao.work.queries import TodayBoard, can_act, can_supervise, day_bounds, today_board
from jiedao.work.sections import register_today_section

BUILTIN = [
    # (bucket, title, order, tone)
    ("overdue", _("Overdue"), 10, "danger"),
    ("due_today", _("Due today"), 20, "warning"),
    ("upcoming", _("Upcoming (next 3 days)"), 30, "azure"),
    ("done_today", _("Done today"), 40, "success"),
]


def board_for(request: HttpRequest) -> TodayBoard:
    board = getattr(request, "_work_board", None)
    if board is None:
        board = today_board(request.user)
        request._work_board = board  # type: ignore[attr-defined]
    return board


def decorate(user: Any, item: Any, now: dt.datetime | None = None) -> Any:
    """What the card may offer this user and how it is marked (in memory: no query per card)."""
    now = now or timezone.now()
    item.can_act = can_act(user, item)
    item.can_supervise = can_supervise(user, item)
    if item.status == WorkStatus.DONE:
        item.tone = "jd-done"
    elif item.status not in OPEN_STATUSES:
        item.tone = ""
    elif item.due_at < now:
        item.tone = "jd-overdue"
    else:
        item.tone = "jd-due" if item.due_at < day_bounds(now)[1] else ""
    return item


def _renderer(bucket: str, title: Any, tone: str) -> Any:
    def render(request: HttpRequest) -> str | None:
        board = board_for(request)
        items = board.buckets.get(bucket) or []
        if not items:
            return None
        ctx = {
            "bucket": bucket, "title": title, "tone": tone, "now": board.now,
            "items": [decorate(request.user, i, board.now) for i in items],
            "count": board.counts[bucket], "more": board.counts[bucket] - len(items),
        }  # fmt: skip
        return render_to_string("work/_section.html", ctx, request=request)

    return render


def register_builtin_sections() -> None:
    for bucket, title, order, tone in BUILTIN:
        register_today_section(f"work.{bucket}", title, order, _renderer(bucket, title, tone))
