"""Huey jobs for screening: they call actions."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from jiedao.screening.actions import do_forget_stale_lists


@db_periodic_task(crontab(minute="40", hour="3"))
def forget_stale_lists() -> int:
    """Every night: uploaded lists nobody received within two days go, with their encrypted files."""
    return do_forget_stale_lists()
