"""Huey jobs for work items: they take ids (or nothing) and call actions."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from jiedao.work.actions import do_escalate_overdue


@db_periodic_task(crontab(minute="*/5"))
def escalate_overdue_work() -> int:
    """Every five minutes: hand items overdue past the grace period to their supervisor."""
    return len(do_escalate_overdue())
