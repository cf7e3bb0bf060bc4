"""Huey jobs for tracing: trace runs, venue check-ins into the presence store, and retention.

The store (pyarrow, DuckDB, pandas) is imported when a job runs, not when the jobs are registered:
every process registers them at start, and the web server would otherwise take seconds longer to
come back after a crash."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


def purge_old_presence(today: dt.date | None = None) -> int:
    """Remove presence data and venue check-ins older than JIEDAO_PRESENCE_RETENTION_DAYS (whole days)."""
    from jiedao.tracing.actions.checkins import do_purge_venue_checkins
    from jiedao.tracing.store import purge_before, retention_cutoff

    day = today or timezone.localdate()
    cutoff = retention_cutoff(day, settings.PRESENCE_RETENTION_DAYS)
    do_purge_venue_checkins(before=cutoff)
    return purge_before(None, cutoff)


@db_periodic_task(crontab(minute="40", hour="3"))
def purge_presence() -> int:
    """Every night: presence data past its retention period is deleted (personal data is not kept)."""
    return purge_old_presence()


@db_periodic_task(crontab(minute="*/5"))
def flush_venue_checkins() -> int:
    """Every five minutes: new venue check-ins go into the presence store (exactly once)."""
    from jiedao.tracing.actions.checkins import do_flush_venue_checkins

    return do_flush_venue_checkins().written


@db_periodic_task(crontab(minute="*/5"))
def reclaim_stale_runs() -> dict[str, int]:
    """Every five minutes: runs a dead worker left behind are failed (to be started again), lost jobs queued again."""
    from jiedao.tracing.actions.runs import do_reclaim_stale_runs

    return do_reclaim_stale_runs()


@db_task()
def run_trace(run_id: int) -> int:
    """A queued trace run (actions.runs.do_run_trace; a second delivery does nothing)."""
    from jiedao.tracing.actions.runs import do_run_trace
    from jiedao.tracing.models import TraceRun

    if not TraceRun.objects.filter(pk=run_id).exists():  # deleted while queued: nothing to do
        return 0
    return do_run_trace(run_id).pk
