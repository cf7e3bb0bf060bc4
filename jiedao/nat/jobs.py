"""Huey jobs for testing: the missing lists sent to the grids on each round's schedule."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(minute="*/10"))
def send_missing_lists() -> list[int]:
    """Every ten minutes: rounds under way whose missing lists are due send them to the grids."""
    from jiedao.nat.rounds import do_send_due_missing_lists

    return do_send_due_missing_lists()
