"""Huey jobs for control: they call actions."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from jiedao.control.actions import (
    do_advance_cases,
    do_create_test_items,
    do_flag_missed_checkins,
    do_propose_releases,
)


@db_periodic_task(crontab(minute="5", hour="*"))
def advance_cases() -> int:
    """Every hour (so a late start or a restart catches up): move cases whose measure ended on to their
    follow-on measure, turn the day's tests into work items and propose the cases due for release."""
    moved = len(do_advance_cases())
    do_create_test_items()
    do_propose_releases()
    return moved


@db_periodic_task(crontab(minute="*/15"))
def flag_missed_checkins() -> int:
    """Every quarter hour: check-ins two hours overdue become work items for the doctor (once each)."""
    return do_flag_missed_checkins()
