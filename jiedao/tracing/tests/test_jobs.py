"""The nightly purge keeps JIEDAO_PRESENCE_RETENTION_DAYS of presence data and removes older days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jiedao.tracing import jobs, store


def test_the_nightly_purge_keeps_the_retention_period(settings: Any, tmp_path: Path, db: Any) -> None:
    settings.VAR_DIR = tmp_path
    settings.PRESENCE_RETENTION_DAYS = 3
    today = dt.date(2026, 11, 29)
    rows = [
        (f"p{n}", "v1", dt.datetime(2026, 11, 29 - n, 10), dt.datetime(2026, 11, 29 - n, 10), "venue_scan")
        for n in range(6)
    ]
    assert store.write_presence(store.default_root(), rows).written == 6
    assert jobs.purge_old_presence(today) == 2  # 11-24 and 11-25 are older than 11-26
    assert sorted(store.day_counts(store.default_root())) == [dt.date(2026, 11, d) for d in range(26, 30)]
    from huey.contrib.djhuey import HUEY

    assert any(isinstance(t, jobs.purge_presence.task_class) for t in HUEY._registry.periodic_tasks)


def test_the_flush_job_writes_new_check_ins_once(settings: Any, tmp_path: Path, cast: Any) -> None:
    import uuid

    from huey.contrib.djhuey import HUEY

    from jiedao.places.actions import do_check_in, do_create_place

    settings.VAR_DIR = tmp_path
    place = do_create_place(actor=None, kind="supermarket", name="甲一超市", community=cast.community_a)
    do_check_in(place=place, name="访客甲", id_number="11010519491231002X", client_key=uuid.uuid4().hex)
    assert jobs.flush_venue_checkins.call_local() == 1
    assert jobs.flush_venue_checkins.call_local() == 0
    assert sum(store.day_counts(store.default_root()).values()) == 1
    assert any(isinstance(t, jobs.flush_venue_checkins.task_class) for t in HUEY._registry.periodic_tasks)


def test_a_job_for_a_run_that_is_gone_does_nothing(db: Any) -> None:
    assert jobs.run_trace.call_local(987654) == 0
