"""Huey jobs for tracing: they call the store."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from jiedao.tracing.store import purge_before, retention_cutoff


def purge_old_presence(today: dt.date | None = None) -> int:
    """Remove presence data older than JIEDAO_PRESENCE_RETENTION_DAYS (whole days)."""
    day = today or timezone.localdate()
    return purge_before(None, retention_cutoff(day, settings.PRESENCE_RETENTION_DAYS))


@db_periodic_task(crontab(minute="40", hour="3"))
def purge_presence() -> int:
    """Every night: presence data past its retention period is deleted (personal data is not kept)."""
    return purge_old_presence()
