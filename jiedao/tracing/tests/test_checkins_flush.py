"""Venue check-ins into the presence store: the rows read back with the register's person key, the venue
code, the scan time in UTC as a moment and the venue_scan source; exactly once, even after a crash
between writing and marking; oldest first under a limit; and the retention purge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from jiedao.core.identity import id_check_char
from jiedao.core.models import AuditEntry
from jiedao.places.actions import do_check_in
from jiedao.places.models import VenueCheckin
from jiedao.places.tests.access import make_place
from jiedao.registry.choices import IdType
from jiedao.registry.identity import id_lookup_key
from jiedao.tracing import store
from jiedao.tracing.actions import checkins
from jiedao.tracing.actions.checkins import do_flush_venue_checkins, do_purge_venue_checkins
from jiedao.tracing.schema import VENUE_SCAN

pytestmark = pytest.mark.django_db

CST = dt.timezone(dt.timedelta(hours=8))
# 07:30 in Chengdu is 23:30 UTC the day before: the record belongs to the UTC day 2022-06-04.
T0 = dt.datetime(2022, 6, 5, 7, 30, tzinfo=CST)


def rid(seq: int, birth: str = "19800101") -> str:
    body = f"510116{birth}{seq:03d}"
    return body + id_check_char(body)


def _check_ins(cast, n: int = 3):  # type: ignore[no-untyped-def]
    """n check-ins at two venues, one minute apart, newest first in the database (to prove ordering)."""
    here, there = make_place(cast), make_place(cast, name="惠民超市", kind="supermarket")
    made = []
    for i in reversed(range(n)):
        made.append(
            do_check_in(
                place=here if i % 2 == 0 else there, name="访客" + "甲乙丙丁戊己庚"[i], id_number=rid(i), client_key=f"key-{i:016d}",
                now=T0 + dt.timedelta(minutes=i, microseconds=123),
            )
        )  # fmt: skip
    return sorted(made, key=lambda c: c.scanned_at)


def _stored(root: Path) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(
            "SELECT person_key, place_key, start_ts, end_ts, source, day FROM "
            "read_parquet($glob, hive_partitioning = true) ORDER BY start_ts",
            {"glob": str(root / "day=*" / "*.parquet")},
        ).fetchall()
    finally:
        con.close()


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def test_flush_writes_venue_scans_with_the_register_key_and_marks_them(cast, tmp_path) -> None:  # type: ignore[no-untyped-def]
    made = _check_ins(cast)
    result = do_flush_venue_checkins(root=tmp_path)
    assert (result.taken, result.written, result.duplicates, result.refused) == (3, 3, 0, 0)
    rows = _stored(tmp_path)
    assert rows == [
        (id_lookup_key(IdType.RESIDENT_ID, c.id_number), c.place.venue_code, _utc(c.scanned_at),
         _utc(c.scanned_at), VENUE_SCAN, dt.date(2022, 6, 4))
        for c in made
    ]  # fmt: skip
    assert rows[0][2] == dt.datetime(2022, 6, 4, 23, 30, 0, 123)  # UTC, to the microsecond
    assert not VenueCheckin.objects.filter(flushed_at__isnull=True).exists()
    assert store.day_counts(tmp_path) == {dt.date(2022, 6, 4): 3}
    entry = AuditEntry.objects.get(action="tracing.flush_checkins")
    assert entry.changes["written"] == 3 and entry.changes["days"] == ["2022-06-04"]
    assert do_flush_venue_checkins(root=tmp_path) == checkins.FlushResult()  # nothing left to do
    assert len(_stored(tmp_path)) == 3


def test_a_crash_between_writing_and_marking_still_gives_exactly_once(cast, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _check_ins(cast)

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the worker died here")

    # The write succeeds, then marking fails: the check-ins stay unflushed, the rows are in the store.
    monkeypatch.setattr(checkins.audit, "record", crash)
    with pytest.raises(RuntimeError):
        do_flush_venue_checkins(root=tmp_path)
    assert len(_stored(tmp_path)) == 3
    assert VenueCheckin.objects.filter(flushed_at__isnull=True).count() == 3  # rolled back with the audit
    monkeypatch.undo()

    result = do_flush_venue_checkins(root=tmp_path)
    assert (result.taken, result.written, result.duplicates) == (3, 0, 3)
    assert len(_stored(tmp_path)) == 3  # not six
    assert not VenueCheckin.objects.filter(flushed_at__isnull=True).exists()


def test_a_partial_crash_writes_only_the_missing_rows(cast, tmp_path) -> None:  # type: ignore[no-untyped-def]
    made = _check_ins(cast, n=4)
    # As if an earlier run had written the first two and died: they are in the store, not marked.
    store.write_presence(
        tmp_path,
        [(c.person_key, c.place.venue_code, c.scanned_at, c.scanned_at, VENUE_SCAN) for c in made[:2]],
    )
    result = do_flush_venue_checkins(root=tmp_path)
    assert (result.written, result.duplicates) == (2, 2)
    assert sorted(r[0] for r in _stored(tmp_path)) == sorted(c.person_key for c in made)


def test_a_limit_takes_the_oldest_first_and_leaves_the_rest_for_the_next_run(cast, tmp_path) -> None:  # type: ignore[no-untyped-def]
    made = _check_ins(cast, n=5)
    assert do_flush_venue_checkins(root=tmp_path, limit=2).written == 2
    assert [r[2] for r in _stored(tmp_path)] == [_utc(c.scanned_at) for c in made[:2]]
    left = VenueCheckin.objects.filter(flushed_at__isnull=True).order_by("scanned_at")
    assert [c.pk for c in left] == [c.pk for c in made[2:]]
    assert do_flush_venue_checkins(root=tmp_path, limit=2).written == 2
    assert do_flush_venue_checkins(root=tmp_path, limit=2).written == 1
    assert len(_stored(tmp_path)) == 5


def test_a_check_in_made_after_a_flush_goes_in_the_next(cast, tmp_path) -> None:  # type: ignore[no-untyped-def]
    made = _check_ins(cast, n=1)
    do_flush_venue_checkins(root=tmp_path)
    do_check_in(
        place=made[0].place, name="晚到", id_number=rid(7), client_key="late-" + "0" * 16,
        now=T0 + dt.timedelta(hours=1),
    )  # fmt: skip
    assert do_flush_venue_checkins(root=tmp_path).written == 1
    assert len(_stored(tmp_path)) == 2


def test_flush_uses_the_default_store_under_var_dir(cast, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path
    _check_ins(cast, n=1)
    assert do_flush_venue_checkins().written == 1
    assert len(_stored(tmp_path / "presence")) == 1


def test_purge_removes_check_ins_of_days_before_the_cutoff(cast) -> None:  # type: ignore[no-untyped-def]
    _check_ins(cast, n=2)  # UTC day 2022-06-04
    assert do_purge_venue_checkins(before=dt.date(2022, 6, 4)) == 0
    assert VenueCheckin.objects.count() == 2
    assert do_purge_venue_checkins(before=dt.date(2022, 6, 5)) == 2
    assert not VenueCheckin.objects.exists()
    assert AuditEntry.objects.get(action="tracing.purge_checkins").changes == {
        "before": "2022-06-05", "deleted": 2,
    }  # fmt: skip
