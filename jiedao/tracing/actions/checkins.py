"""Venue check-ins into the presence store: the public venue page records `VenueCheckin` rows in the
database at once; this flush copies them into the Parquet store as `venue_scan` records (a moment:
start_ts == end_ts, UTC) and marks them flushed.

Exactly once: the store skips a row equal to one already stored, so a flush that wrote its rows and
then died before marking them writes nothing the second time and only marks them."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from jiedao.core import audit
from jiedao.places.models import VenueCheckin
from jiedao.tracing import store
from jiedao.tracing.schema import VENUE_SCAN

_MARK_CHUNK = 500  # ids per UPDATE: well under every database's bound-parameter limit
_LOCK_NAME = ".flush-venue-checkins.lock"


@dataclass(frozen=True)
class FlushResult:
    """What one flush did. taken == written + duplicates + refused; every taken check-in is marked
    flushed (a refused one could never be written, so it is counted, not retried)."""

    taken: int = 0
    written: int = 0
    duplicates: int = 0
    refused: int = 0
    refused_by_reason: dict[str, int] = field(default_factory=dict)


@contextmanager
def _flush_lock(root: Path) -> Iterator[None]:
    """One flush at a time per store: two overlapping runs would both find the same rows new (the
    store's duplicate check reads the files before either has added its own)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / _LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def do_flush_venue_checkins(*, root: str | Path | None = None, limit: int = 50_000) -> FlushResult:
    """Write up to `limit` unflushed check-ins, oldest first, into the presence store at `root` (the
    default store when None), then mark them flushed. The periodic job calls it every few minutes."""
    base = store.default_root() if root is None else Path(root)
    with _flush_lock(base):
        rows = list(
            VenueCheckin.objects.filter(flushed_at__isnull=True)
            .order_by("scanned_at", "pk")
            .values_list("pk", "person_key", "place__venue_code", "scanned_at")[:limit]
        )
        if not rows:
            return FlushResult()
        report = store.write_presence(
            base,
            [
                {"person_key": person_key, "place_key": venue_code, "start_ts": at, "end_ts": at,
                 "source": VENUE_SCAN}
                for _pk, person_key, venue_code, at in rows
            ],
        )  # fmt: skip
        result = FlushResult(
            taken=len(rows),
            written=report.written,
            duplicates=report.duplicates,
            refused=report.refused,
            refused_by_reason=dict(report.refused_by_reason),
        )
        ids = [row[0] for row in rows]
        with transaction.atomic():
            now = timezone.now()
            for start in range(0, len(ids), _MARK_CHUNK):
                VenueCheckin.objects.filter(pk__in=ids[start : start + _MARK_CHUNK]).update(flushed_at=now)
            audit.record(
                actor=None, action="tracing.flush_checkins", object_type="places.venuecheckin",
                changes={"taken": result.taken, "written": result.written, "duplicates": result.duplicates,
                         "refused": result.refused_by_reason, "first_id": min(ids), "last_id": max(ids),
                         "days": [d.isoformat() for d in report.days]},
            )  # fmt: skip
    return result


def do_purge_venue_checkins(*, before: date) -> int:
    """Delete the check-ins of every (UTC) day strictly before `before`, flushed or not, as
    store.purge_before does with the presence days: their personal data is kept no longer than the
    presence records they stand for. Returns the number deleted."""
    cutoff = datetime.combine(before, time.min, tzinfo=UTC)
    with transaction.atomic():
        deleted, _by_model = VenueCheckin.objects.filter(scanned_at__lt=cutoff).delete()
        if deleted:
            audit.record(
                actor=None, action="tracing.purge_checkins", object_type="places.venuecheckin",
                changes={"before": before.isoformat(), "deleted": deleted},
            )  # fmt: skip
    return deleted
