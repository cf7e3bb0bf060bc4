"""The job queue's real storage: Huey on SQLite (embedded default) and, when REDIS_URL is set (CI),
on Redis. Tests otherwise run jobs immediately; this one goes through enqueue → storage → dequeue."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from huey import RedisHuey, SqliteHuey


def _roundtrip(huey: object) -> None:
    @huey.task()  # type: ignore[attr-defined]
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 40)
    assert huey.pending_count() == 1  # type: ignore[attr-defined]
    task = huey.dequeue()  # type: ignore[attr-defined]
    huey.execute(task)  # type: ignore[attr-defined]
    assert result.get() == 42
    assert huey.pending_count() == 0  # type: ignore[attr-defined]


def test_sqlite_job_storage(tmp_path: Path) -> None:
    _roundtrip(SqliteHuey(name="t", filename=str(tmp_path / "huey.sqlite3")))


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL not set (CI sets it)")
def test_redis_job_storage() -> None:
    huey = RedisHuey(name=f"jiedao-test-{uuid.uuid4().hex[:8]}", url=os.environ["REDIS_URL"])
    try:
        _roundtrip(huey)
    finally:
        huey.storage.flush_all()
