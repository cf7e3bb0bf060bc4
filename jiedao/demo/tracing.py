"""The tracing part of the Huayang demo (issue 7): fourteen days of presence records in the Parquet
store and one finished trace run from the demo's positive case, so the trace page has a story.

- Background (`do_add_presence_records`): a quarter of the residents scan a venue code (any of the demo's
  places: pharmacies, clinics, sampling sites, shops ...) once or twice on most days, between 07:00
  and 21:00. Chance meetings among them are real contacts to any trace.
- Around the positive case, in the four days before its positive sample: it visits three venues; at
  each, four to eight residents scan within ±12 minutes (close contacts), a visitor from outside the
  subdistrict checks in on the venue's page (`places.actions.do_check_in`, flushed into the store by
  the trace run), and someone known only to the city platform scans too. Two close contacts later
  meet other residents at other venues (secondary contacts). The case's home cell holds its
  long stays and three passers-by who shared it for 12 to 40 minutes (spatio-temporal companions).
- The trace (`do_start_trace`, `do_run_trace`) is run as the command centre, and left unpushed.
Deterministic for a seed and a build time."""

from __future__ import annotations

import datetime as dt
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from django.utils import timezone

from jiedao.control.choices import TestResult
from jiedao.control.models import CaseTest
from jiedao.demo.control import _Crew
from jiedao.demo.state import BuildState
from jiedao.places.actions import do_check_in
from jiedao.places.models import Place
from jiedao.registry.models import Person
from jiedao.tracing import store
from jiedao.tracing.actions.presence import do_add_presence_records
from jiedao.tracing.actions.runs import default_onset, do_run_trace, do_start_trace
from jiedao.tracing.schema import CELL, VENUE_SCAN

DAYS = 14
SCAN_SHARE = 0.25
VISITS = 3
# Visitors from outside the subdistrict who check in on a venue's page (valid GB 11643 numbers).
VISITORS = [
    ("李访客", "11010519491231002X", "13900139001"),
    ("周来宾", "440305199208150624", "13900139002"),
    ("陈过客", "110101199003074477", "13900139003"),
]
MIN = dt.timedelta(minutes=1)


def _local(day: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_current_timezone()) + dt.timedelta(
        minutes=minutes
    )


def _scan(key: str, place: str, at: dt.datetime) -> dict[str, Any]:
    return {"person_key": key, "place_key": place, "start_ts": at, "end_ts": at, "source": VENUE_SCAN}


def _stay(key: str, cell: str, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    return {"person_key": key, "place_key": cell, "start_ts": start, "end_ts": end, "source": CELL}


def build_tracing(state: BuildState, root: str | Path | None = None) -> None:
    started = time.perf_counter()
    rng = state.rng("tracing")
    base = Path(root) if root is not None else store.default_root()
    # the demo's database is new (the builder refuses a used one): so is its presence store
    shutil.rmtree(base, ignore_errors=True)
    now = timezone.now().replace(second=0, microsecond=0)
    today = timezone.localdate(now)
    venues = list(Place.objects.filter(active=True).order_by("pk").values_list("venue_code", flat=True))
    keys = list(Person.objects.exclude(id_index="").order_by("pk").values_list("id_index", flat=True))
    if not venues or not keys:
        return
    rows: list[dict[str, Any]] = []
    for key in rng.sample(keys, int(len(keys) * SCAN_SHARE)):
        for back in range(DAYS, 0, -1):
            for _ in range(rng.choice((0, 1, 1, 2))):
                rows.append(
                    _scan(
                        key,
                        rng.choice(venues),
                        _local(today - dt.timedelta(days=back), rng.randint(420, 1260)),
                    )
                )
    background = len(rows)

    positive = (
        CaseTest.objects.filter(result=TestResult.POSITIVE)
        .select_related("case__person")
        .order_by("pk")
        .first()
    )
    run = None
    if positive is not None and positive.case.person.id_index:
        case = positive.case
        onset = default_onset(case)
        index = case.person.id_index
        others = [k for k in keys if k != index]
        crowd = iter(rng.sample(others, min(len(others), 80)))
        first_day = timezone.localdate(onset) - dt.timedelta(days=3)
        places = Place.objects.filter(active=True).order_by("pk")
        shops = rng.sample(list(places[: min(places.count(), 600)]), VISITS + 3)
        for n, place in enumerate(shops[:VISITS]):
            at = _local(first_day + dt.timedelta(days=n), rng.randint(540, 1140))
            if at >= onset:
                at = onset - dt.timedelta(hours=3 + n)
            rows.append(_scan(index, place.venue_code, at))
            close = [next(crowd) for _ in range(rng.randint(4, 8))]
            for key in close:
                rows.append(_scan(key, place.venue_code, at + rng.randint(-12, 12) * MIN))
            name, number, phone = VISITORS[n % len(VISITORS)]
            do_check_in(place=place, name=name, id_number=number, phone=phone, client_key=uuid.UUID(int=rng.getrandbits(128)).hex,
                        now=at + rng.randint(1, 9) * MIN)  # fmt: skip
            rows.append(
                _scan(f"CITY-{rng.randrange(10**8):08d}", place.venue_code, at + rng.randint(-5, 5) * MIN)
            )
            # one close contact goes on to meet others after the exposure
            later = at + dt.timedelta(hours=rng.randint(2, 6))
            meet = shops[VISITS + n].venue_code
            rows.append(_scan(close[0], meet, later))
            for _ in range(rng.randint(2, 3)):
                rows.append(_scan(next(crowd), meet, later + rng.randint(-10, 10) * MIN))
        # the home cell: the index case's long stays, and passers-by sharing it for a while
        cell = f"CELL-{case.community.code if case.community else 'HY'}-{rng.randint(100, 999)}"
        for back in range(5, 10):
            day = timezone.localdate(onset) - dt.timedelta(days=back)
            rows.append(
                _stay(index, cell, _local(day, 19 * 60), _local(day, 19 * 60) + dt.timedelta(hours=11))
            )
        meet_at = onset - dt.timedelta(days=2, hours=5)
        for _ in range(3):
            start = meet_at + rng.randint(-30, 30) * MIN
            rows.append(_stay(next(crowd), cell, start, start + rng.randint(12, 40) * MIN))
        rows.append(_stay(index, cell, meet_at - dt.timedelta(hours=1), meet_at + dt.timedelta(hours=2)))
        report = do_add_presence_records(actor=None, rows=rows, source_label="demo", root=base)
        run = do_start_trace(actor=_Crew().command, case=case, onset=onset)
        run = do_run_trace(run.pk, root=base)
    else:
        report = do_add_presence_records(actor=None, rows=rows, source_label="demo", root=base)
    state.counts["presence_records"] = report.written
    state.counts["presence_background"] = background
    if run is not None:
        state.counts["trace_runs"] = 1
        for key in ("close_contact", "secondary_contact", "companion"):
            state.counts[f"trace_{key}"] = run.counts.get(key, 0)
    state.say("tracing", f"{report.written:,} presence records over {DAYS} days; one trace run", started)


def summary_lines(counts: dict[str, Any]) -> list[str]:
    if not counts.get("presence_records"):
        return []
    line = f"Tracing: {counts['presence_records']:,} presence records over the last {DAYS} days"
    if counts.get("trace_runs"):
        line += (
            f"; a trace of the positive case found {counts.get('trace_close_contact', 0)} close contacts, "
            f"{counts.get('trace_secondary_contact', 0)} secondary contacts and {counts.get('trace_companion', 0)} "
            "companions (not yet pushed to screening)"
        )
    return [line]
