"""The tracing engine on hand-made presence data: rule boundaries, busy venues, secondary contacts,
missing data; DuckDB and Spark must return identical rows, equal to a brute-force reference."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jiedao.tracing.engine import TraceResult, TraceRow, trace
from jiedao.tracing.rules import CLOSE, COMPANION, SCAN, SECONDARY, Rules, RulesError, SourceRule
from jiedao.tracing.schema import BULK, CELL, VENUE_SCAN

T = datetime(2022, 6, 10, 12, 7)  # not on a 15-minute bin edge, so neighbours fall in other bins
MIN = timedelta(minutes=1)
ONSET = datetime(2022, 6, 11, 8, 0)
CLOSE_ONLY = Rules(secondary=False)


class Rec(NamedTuple):
    person_key: str
    place_key: str
    start_ts: datetime
    end_ts: datetime
    source: str


def scan(person: str, place: str, at: datetime) -> Rec:
    return Rec(person, place, at, at, VENUE_SCAN)


def stay(person: str, place: str, start: datetime, end: datetime, source: str = CELL) -> Rec:
    return Rec(person, place, start, end, source)


def write_presence(root: Path, records: Iterable[Rec]) -> Path:
    """The store's layout: <root>/day=YYYY-MM-DD/*.parquet, day = date of start_ts."""
    recs = list(records)
    if not recs:
        return root
    table = pa.table(
        {
            "person_key": pa.array([r.person_key for r in recs], pa.string()),
            "place_key": pa.array([r.place_key for r in recs], pa.string()),
            "start_ts": pa.array([r.start_ts for r in recs], pa.timestamp("us")),
            "end_ts": pa.array([r.end_ts for r in recs], pa.timestamp("us")),
            "source": pa.array([r.source for r in recs], pa.string()),
            "day": pa.array([r.start_ts.date().isoformat() for r in recs], pa.string()),
        }
    )
    pq.write_to_dataset(
        table, root, partition_cols=["day"], basename_template=f"{uuid.uuid4().hex}-{{i}}.parquet"
    )
    return root


def write_empty_day(root: Path, day: str) -> None:
    schema = pa.schema(
        [
            ("person_key", pa.string()),
            ("place_key", pa.string()),
            ("start_ts", pa.timestamp("us")),
            ("end_ts", pa.timestamp("us")),
            ("source", pa.string()),
        ]
    )
    (root / f"day={day}").mkdir(parents=True)
    pq.write_table(schema.empty_table(), root / f"day={day}" / "empty.parquet")


Runner = Callable[..., TraceResult]


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def run(request: pytest.FixtureRequest) -> Runner:
    engine = request.param
    session = request.getfixturevalue("spark") if engine == "spark" else None

    def _run(root: Path, cases: list[tuple[str, datetime]], rules: Rules = CLOSE_ONLY) -> TraceResult:
        result = trace(root, cases, rules, engine=engine, spark=session)
        assert result.engine == engine
        return result

    return _run


def by_contact(result: TraceResult, degree: int = 1) -> dict[str, TraceRow]:
    rows = [r for r in result.rows if r.degree == degree]
    assert len({(r.index_key, r.contact_key, r.place_key) for r in rows}) == len(rows)
    return {r.contact_key: r for r in rows}


# --- rule boundaries ------------------------------------------------------------------------------


def test_scans_within_window_inclusive(tmp_path: Path, run: Runner) -> None:
    write_presence(
        tmp_path,
        [
            scan("I", "V1", T),
            scan("A", "V1", T + 15 * MIN),  # exactly W later (next bin): contact
            scan("B", "V1", T + 15 * MIN + timedelta(seconds=1)),  # just past W: not
            scan("C", "V1", T - 15 * MIN),  # exactly W earlier (previous bin): contact
            scan("D", "V1", T - 16 * MIN),  # W + 1 minute: not
            scan("E", "V1", T + 5 * MIN),
            scan("F", "V2", T),  # another venue: not
            stay("G", "V1", T - 60 * MIN, T + 60 * MIN),  # a cell record with the same key: other source
        ],
    )
    result = run(tmp_path, [("I", ONSET)])
    found = by_contact(result)
    assert set(found) == {"A", "C", "E"}
    assert found["A"].minutes == 0.0 and found["A"].overlap_start == T + 15 * MIN
    assert found["E"].minutes == 10.0
    assert (found["E"].overlap_start, found["E"].overlap_end) == (T + 5 * MIN, T + 15 * MIN)
    assert {r.source for r in result.rows} == {VENUE_SCAN}
    assert result.records_scanned == 8 and result.index_without_data == []


def test_overlap_minimum_inclusive_touching_never(tmp_path: Path, run: Runner) -> None:
    t10 = datetime(2022, 6, 10, 10, 0)
    write_presence(
        tmp_path,
        [
            stay("I", "C1", t10, t10 + 60 * MIN),
            stay("A", "C1", t10 + 45 * MIN, t10 + 120 * MIN),  # overlap exactly 15: contact
            stay("B", "C1", t10 + 46 * MIN, t10 + 120 * MIN),  # 14: not
            stay("C", "C1", t10 + 60 * MIN, t10 + 120 * MIN),  # touching after: not
            stay("D", "C1", t10 - 60 * MIN, t10),  # touching before: not
            stay("E", "C1", t10 - 600 * MIN, t10 + 600 * MIN),  # spans many bins: 60 minutes
            stay("F", "C2", t10, t10 + 60 * MIN),  # another cell: not
            stay("I", "B1", t10, t10 + 30 * MIN, BULK),
            stay("G", "B1", t10 + 10 * MIN, t10 + 25 * MIN, BULK),  # bulk, exactly 15
        ],
    )
    found = by_contact(run(tmp_path, [("I", ONSET)]))
    assert set(found) == {"A", "E", "G"}
    assert found["A"].minutes == 15.0
    assert (found["A"].overlap_start, found["A"].overlap_end) == (t10 + 45 * MIN, t10 + 60 * MIN)
    assert found["E"].minutes == 60.0 and found["G"].source == BULK


def test_lookback_window(tmp_path: Path, run: Runner) -> None:
    lookback = timedelta(days=4)
    write_presence(
        tmp_path,
        [
            scan("I", "V1", ONSET - lookback - MIN),
            scan("A", "V1", ONSET - lookback - MIN),  # before the window: not
            scan("I", "V2", ONSET - lookback + MIN),
            scan("B", "V2", ONSET - lookback + MIN),  # just inside: contact
            scan("I", "V3", ONSET + MIN),
            scan("C", "V3", ONSET + MIN),  # after onset: not
            stay("I", "C1", ONSET - lookback - 60 * MIN, ONSET - lookback + 10 * MIN),
            stay("D", "C1", ONSET - lookback - 60 * MIN, ONSET - lookback + 10 * MIN),  # 10 min inside: not
        ],
    )
    assert set(by_contact(run(tmp_path, [("I", ONSET)]))) == {"B"}
    # the look-back is a setting per run
    two_days = Rules(lookback_days=2, secondary=False)
    assert by_contact(run(tmp_path, [("I", ONSET)], two_days)) == {}


def test_busy_venue_exact_pairs(tmp_path: Path, run: Runner) -> None:
    rng = random.Random(7)
    hour = datetime(2022, 6, 10, 18, 0)
    crowd = [scan(f"P{i:04d}", "MALL", hour + timedelta(seconds=rng.randrange(3600))) for i in range(5000)]
    index_at = {"P0001": crowd[1].start_ts, "P0002": crowd[2].start_ts}
    write_presence(tmp_path, [*crowd, scan("X", "OTHER", hour)])
    result = run(tmp_path, [(k, ONSET) for k in index_at])
    window = timedelta(minutes=15)
    expected = {
        (k, r.person_key)
        for k, at in index_at.items()
        for r in crowd
        if r.person_key != k and abs(r.start_ts - at) <= window
    }
    assert len(expected) > 2000
    assert result.contacts(1) == expected
    assert len(result.rows) == len(expected)


# --- secondary contacts -----------------------------------------------------------------------------


def test_secondary_only_after_exposure(tmp_path: Path, run: Runner) -> None:
    t10 = datetime(2022, 6, 10, 10, 0)
    write_presence(
        tmp_path,
        [
            scan("I", "V", t10),
            scan("A", "V", t10),  # A's exposure: 10:00
            scan("A", "W", t10 - 120 * MIN),
            scan("S1", "W", t10 - 120 * MIN),  # met A before its exposure: not
            scan("A", "U", t10 + 60 * MIN),
            scan("S2", "U", t10 + 65 * MIN),  # after: secondary via A (20 minutes after I: not close)
            scan("I", "U", t10 + 45 * MIN),  # I met A again: neither I nor A are secondaries
            scan("S3", "V", t10 + 10 * MIN),  # close contact of I, also met A: only degree 1
            stay("A", "C", t10 - 60 * MIN, t10 + 60 * MIN),
            stay("S4", "C", t10 - 60 * MIN, t10 + 5 * MIN),  # overlaps A only 5 min after exposure: not
            stay("S5", "C", t10 - 30 * MIN, t10 + 30 * MIN),  # 30 min after exposure: secondary
        ],
    )
    result = run(tmp_path, [("I", ONSET)], Rules())
    close, second = by_contact(result, 1), by_contact(result, 2)
    assert set(close) == {"A", "S3"}
    assert set(second) == {"S2", "S5"}
    assert second["S5"].via_key == "A" and second["S5"].overlap_start == t10
    assert second["S2"].via_key == "A" and second["S2"].place_key == "U"
    assert second["S5"].minutes == 30.0
    assert close["A"].via_key is None and close["A"].overlap_start == t10


def test_secondary_via_close_contact(tmp_path: Path, run: Runner) -> None:
    t10 = datetime(2022, 6, 10, 10, 0)
    write_presence(
        tmp_path,
        [
            stay("I", "C", t10, t10 + 60 * MIN),
            stay("A", "C", t10 + 30 * MIN, t10 + 90 * MIN),  # exposure 10:30
            scan("A", "V", t10 + 20 * MIN),
            scan("S1", "V", t10 + 20 * MIN),  # before exposure: not
            scan("A", "V", t10 + 300 * MIN),
            scan("S2", "V", t10 + 290 * MIN),  # later the same day: secondary
            scan("A", "V2", ONSET + 10 * MIN),
            scan("S3", "V2", ONSET + 10 * MIN),  # after the index case's onset: not
        ],
    )
    result = run(tmp_path, [("I", ONSET)], Rules())
    assert set(by_contact(result, 1)) == {"A"}
    second = by_contact(result, 2)
    assert set(second) == {"S2"} and second["S2"].via_key == "A"


# --- spatio-temporal companions (Chengdu's rule) ----------------------------------------------------


def dwell(person: str, place: str, first_day: datetime, days: int, hours: float) -> list[Rec]:
    """`days` stays of `hours` each, one a day from `first_day`."""
    return [
        stay(person, place, first_day + timedelta(days=n), first_day + timedelta(days=n, hours=hours))
        for n in range(days)
    ]


def test_companions_by_chengdu_rule(tmp_path: Path, run: Runner) -> None:
    t10 = datetime(2022, 6, 10, 10, 0)
    day0 = datetime(2022, 6, 1, 0, 0)  # 10 days before the onset, inside the 14-day dwell window
    write_presence(
        tmp_path,
        [
            stay("I", "H", t10, t10 + 60 * MIN),
            *dwell("A", "H", day0, 4, 8),  # A lives in H: 32 h
            stay("A", "H", t10 + 30 * MIN, t10 + 41 * MIN),  # 11 min with I: companion
            *dwell("A2", "H", day0, 5, 8),
            stay("A2", "H", t10 + 50 * MIN, t10 + 70 * MIN),  # exactly 10 min: not
            stay("I", "K", t10 + 120 * MIN, t10 + 180 * MIN),
            *dwell("B", "K", day0, 5, 5.8),  # 29 h, + 60 min below = exactly 30 h: not
            stay("B", "K", t10 + 120 * MIN, t10 + 180 * MIN),
            *dwell("C", "K", day0, 5, 5.8),
            stay("C", "K", t10 + 120 * MIN, t10 + 181 * MIN),  # 30 h 1 min: companion
            *dwell("I", "M", datetime(2022, 5, 29), 4, 8),  # the index case lives in M: 32 h
            stay("I", "M", t10 + 300 * MIN, t10 + 400 * MIN),
            stay("D", "M", t10 + 310 * MIN, t10 + 321 * MIN),  # a passer-by, 11 min: companion
            *dwell("E", "N", datetime(2022, 5, 24), 5, 8),  # 40 h, but over 14 days before the onset
            stay("I", "N", t10 + 500 * MIN, t10 + 530 * MIN),
            stay("E", "N", t10 + 500 * MIN, t10 + 530 * MIN),  # not
            scan("A", "V", t10 + 90 * MIN),
            scan("S", "V", t10 + 90 * MIN),  # met the companion A: companions are not traced further
            # the same 16-hour stay recorded twice is 16 hours, not 32: F is no companion
            *dwell("F", "G", day0, 1, 16),
            *dwell("F", "G", day0, 1, 16),
            stay("I", "G", t10 + 600 * MIN, t10 + 640 * MIN),
            stay("F", "G", t10 + 600 * MIN, t10 + 640 * MIN),
            # a close contact by venue, who later meets the companion C: C is also a secondary contact
            scan("I", "W", t10 + 700 * MIN),
            scan("K", "W", t10 + 700 * MIN),
            scan("K", "W2", t10 + 800 * MIN),
            scan("C", "W2", t10 + 805 * MIN),
        ],
    )
    rules = Rules().with_companions()
    assert rules.history_days() == 14
    result = run(tmp_path, [("I", ONSET)], rules)
    assert result.related(COMPANION) == {("I", "A"), ("I", "C"), ("I", "D")}
    assert result.related(CLOSE) == {("I", "K")}
    assert result.related(SECONDARY) == {("I", "C")}  # more serious than companion: both are kept
    found = by_contact(result)
    assert found["A"].minutes == 11.0 and found["A"].relation == COMPANION and found["A"].source == CELL
    assert found["D"].overlap_start == t10 + 310 * MIN
    # the same records under the default rules: stays of 15 minutes or more are close contacts
    plain = run(tmp_path, [("I", ONSET)], Rules())
    assert plain.related(CLOSE) == {("I", p) for p in ("B", "C", "E", "F", "K")}
    assert plain.related(COMPANION) == set()


def test_companion_rules_as_data() -> None:
    rules = Rules.from_dict({"sources": {"cell": {"kind": "companion"}, "venue_scan": {}}})
    cell = rules.for_source(CELL)
    assert cell is not None and (cell.min_overlap_minutes, cell.dwell_hours, cell.dwell_days) == (10, 30, 14)
    assert Rules.from_dict(rules.to_dict()) == rules
    with pytest.raises(RulesError, match="dwell_hours"):
        Rules.from_dict({"sources": {"cell": {"kind": "companion", "dwell_hours": 0}}})


# --- reporting ------------------------------------------------------------------------------------


def test_index_without_data_and_empty_days(tmp_path: Path, run: Runner) -> None:
    write_presence(
        tmp_path,
        [
            scan("I", "V", T),
            scan("A", "V", T),
            scan("OLD", "V", T - timedelta(days=10)),  # only outside the window: no data
            Rec("BAD", "V", T, T - MIN, VENUE_SCAN),  # end before start: counted, never paired
            scan("I", "V", T + MIN),
            Rec("BAD2", "V", T + MIN, T, VENUE_SCAN),
        ],
    )
    write_empty_day(tmp_path, "2022-06-09")  # an empty day inside the window
    result = run(tmp_path, [("I", ONSET), ("NOBODY", ONSET), ("OLD", ONSET)])
    assert result.contacts(1) == {("I", "A")}
    assert result.index_without_data == ["NOBODY", "OLD"]
    assert result.bad_records == 2
    dates = {d.isoformat() for d in result.empty_days}
    assert "2022-06-09" in dates and "2022-06-08" in dates  # an empty file and a missing day
    assert "2022-06-10" not in dates
    assert result.seconds > 0


def test_no_data_at_all(tmp_path: Path, run: Runner) -> None:
    result = run(tmp_path, [("I", ONSET)])
    assert result.rows == [] and result.index_without_data == ["I"] and result.records_scanned == 0


# --- both engines against a brute-force reference ---------------------------------------------------


def reference(records: list[Rec], cases: list[tuple[str, datetime]], rules: Rules) -> list[tuple[Any, ...]]:
    """The rules spelled out pair by pair in Python (quadratic; small data only)."""
    recs = [r for r in records if r.end_ts >= r.start_ts and rules.for_source(r.source)]

    def matches(
        root: str, seeds: list[tuple[str, Rec, datetime, datetime]]
    ) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        best: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        for seed_key, rec, s, e in seeds:
            rule = rules.for_source(rec.source)
            assert rule is not None
            for other in recs:
                if (
                    other.person_key == seed_key
                    or other.place_key != rec.place_key
                    or other.source != rec.source
                ):
                    continue
                if rule.kind == SCAN:
                    w = timedelta(minutes=rule.window_minutes)
                    if abs(s - other.start_ts) > w:
                        continue
                    o_start, o_end = max(s, other.start_ts), min(s, other.start_ts) + w
                else:
                    o_start, o_end = max(s, other.start_ts), min(e, other.end_ts)
                    if not (
                        o_end > o_start and o_end - o_start >= timedelta(minutes=rule.min_overlap_minutes)
                    ):
                        continue
                key = (root, other.person_key, rec.place_key)
                rank = (o_start, -(o_end - o_start).total_seconds(), rec.source, seed_key)
                if key not in best or rank < best[key][0]:
                    best[key] = (rank, o_start, o_end, rec.source, seed_key)
        return best

    out = []
    index_keys = {key for key, _ in cases}
    for key, onset in cases:
        start = onset - timedelta(days=rules.lookback_days)
        seeds = [
            (key, r, max(r.start_ts, start), min(r.end_ts, onset))
            for r in recs
            if r.person_key == key and r.end_ts >= start and r.start_ts <= onset
        ]
        close = matches(key, seeds)
        exposure: dict[str, datetime] = {}
        for (_, contact, _), (_, o_start, *_rest) in close.items():
            exposure[contact] = min(o_start, exposure.get(contact, o_start))
        for (root, contact, place), (_, o_start, o_end, source, _) in close.items():
            out.append((root, contact, place, o_start, o_end, (o_end - o_start) / MIN, source, 1, None))
        if not rules.secondary:
            continue
        seeds2 = [
            (r.person_key, r, max(r.start_ts, exposure[r.person_key]), min(r.end_ts, onset))
            for r in recs
            if r.person_key in exposure and max(r.start_ts, exposure[r.person_key]) <= min(r.end_ts, onset)
        ]
        for (root, contact, place), (_, o_start, o_end, source, via) in matches(key, seeds2).items():
            if contact not in index_keys and contact not in exposure:
                out.append((root, contact, place, o_start, o_end, (o_end - o_start) / MIN, source, 2, via))
    return sorted(out)


def random_presence(seed: int) -> tuple[list[Rec], list[tuple[str, datetime]]]:
    """Times on whole minutes so that exact-boundary pairs (W apart, N overlap, touching) occur."""
    rng = random.Random(seed)
    day0 = datetime(2022, 6, 7)
    people = [f"p{i:02d}" for i in range(50)]
    recs = []
    for _ in range(500):
        at = day0 + timedelta(minutes=rng.randrange(4 * 24 * 60))
        who = rng.choice(people)
        if rng.random() < 0.5:
            recs.append(scan(who, f"v{rng.randrange(6)}", at))
        else:
            length = timedelta(minutes=rng.choice([0, 15, 30, 45, 60, 120, 600]))
            recs.append(stay(who, f"c{rng.randrange(4)}", at, at + length, rng.choice([CELL, BULK])))
    cases = [
        ("p00", datetime(2022, 6, 10, 12)),
        ("p01", datetime(2022, 6, 9, 18)),
        ("p02", datetime(2022, 6, 11)),
    ]
    return recs, cases


RANDOM_RULES = Rules(
    sources=(
        SourceRule(VENUE_SCAN, SCAN, window_minutes=30),
        SourceRule(CELL, "overlap", min_overlap_minutes=15, bin_minutes=45),
        SourceRule(BULK, "overlap", min_overlap_minutes=30, bin_minutes=60),
    ),
    lookback_days=2,
)


def test_equals_bruteforce_reference(tmp_path: Path, run: Runner) -> None:
    recs, cases = random_presence(11)
    write_presence(tmp_path, recs)
    result = run(tmp_path, cases, RANDOM_RULES)
    expected = reference(recs, cases, RANDOM_RULES)
    assert {r[7] for r in expected} == {1, 2}
    assert [tuple(r)[:9] for r in result.rows] == expected


@pytest.mark.spark
def test_duckdb_and_spark_identical(tmp_path: Path, spark: Any) -> None:
    recs, cases = random_presence(23)
    rng = random.Random(3)
    hour = datetime(2022, 6, 10, 9, 0)
    recs += [scan(f"q{i:04d}", "v0", hour + timedelta(seconds=rng.randrange(3600))) for i in range(500)]
    recs += [
        stay(f"q{i:04d}", "c0", hour, hour + timedelta(minutes=rng.randrange(1, 240))) for i in range(500)
    ]
    write_presence(tmp_path, recs)
    cases.append(("q0000", datetime(2022, 6, 10, 10, 30)))
    duck = trace(tmp_path, cases, Rules(), engine="duckdb")
    sparked = trace(tmp_path, cases, Rules(), engine="spark", spark=spark)
    assert len(duck.rows) > 300 and {r.degree for r in duck.rows} == {1, 2}
    assert duck.rows == sparked.rows
    assert (duck.records_scanned, duck.index_without_data, duck.empty_days) == (
        sparked.records_scanned,
        sparked.index_without_data,
        sparked.empty_days,
    )
    # the companion rule (dwell windows, islands, the companion/secondary choice) alike on both
    long_stays = [
        stay(f"q{i:04d}", "c0", hour - timedelta(days=3), hour - timedelta(hours=40))
        for i in range(0, 500, 7)
    ]
    write_presence(tmp_path, long_stays)
    rules = Rules().with_companions()
    duck_c = trace(tmp_path, cases, rules, engine="duckdb")
    spark_c = trace(tmp_path, cases, rules, engine="spark", spark=spark)
    assert duck_c.related(COMPANION) and duck_c.rows == spark_c.rows


@pytest.mark.spark
def test_spark_binds_to_localhost(spark: Any) -> None:
    assert spark.conf.get("spark.driver.host") == "127.0.0.1"
    assert spark.conf.get("spark.driver.bindAddress") == "127.0.0.1"


# --- rules as data --------------------------------------------------------------------------------


def test_rules_from_yaml_round_trip() -> None:
    rules = Rules.from_yaml(
        """
lookback_days: 2
secondary: false
sources:
  venue_scan: {window_minutes: 10}
  cell: {kind: overlap, min_overlap_minutes: 20, bin_minutes: 30}
"""
    )
    assert rules.lookback_days == 2 and rules.secondary is False
    assert rules.for_source(VENUE_SCAN) == SourceRule(VENUE_SCAN, SCAN, window_minutes=10)
    assert rules.for_source(CELL) == SourceRule(CELL, "overlap", min_overlap_minutes=20, bin_minutes=30)
    assert rules.for_source(BULK) is None
    assert Rules.from_dict(rules.to_dict()) == rules
    assert Rules.from_dict({}) == Rules()


@pytest.mark.parametrize(
    "data",
    [
        {"lookback_days": 0},
        {"lookback_days": "4"},
        {"secondary": "yes"},
        {"sources": {"wifi": {}}},
        {"sources": {"cell": {"kind": "near"}}},
        {"sources": {"cell": {"min_overlap_minutes": 0}}},
        {"sources": {"cell": {"window": 3}}},
        {"sources": {}},
        {"lookback": 4},
    ],
)
def test_bad_rules_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(RulesError):
        Rules.from_dict(data)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="listed twice"):
        trace(tmp_path, [("I", ONSET), ("I", ONSET)])
    with pytest.raises(ValueError, match="unknown engine"):
        trace(tmp_path, [("I", ONSET)], engine="pandas")
    with pytest.raises(ValueError, match="SparkSession"):
        trace(tmp_path, [("I", ONSET)], engine="spark")


# --- planted truth from the synthetic generator -----------------------------------------------------


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    synth = pytest.importorskip("jiedao.tracing.synth")
    root = tmp_path_factory.mktemp("synth")
    truth = synth.generate(
        root,
        persons=2_000,
        venues=300,
        cells=150,
        days=8,
        start_day=datetime(2022, 6, 1).date(),
        seed=5,
        index_cases=3,
        busy_venues=1,
        busy_scans=1_500,
    )
    return root, truth


def test_equals_planted_truth(planted: tuple[Path, Any], run: Runner) -> None:
    root, truth = planted
    rules = Rules(
        sources=(
            SourceRule(VENUE_SCAN, SCAN, window_minutes=truth.scan_window_minutes),
            SourceRule(CELL, "overlap", min_overlap_minutes=truth.min_overlap_minutes),
            SourceRule(BULK, "overlap", min_overlap_minutes=truth.min_overlap_minutes),
        ),
        lookback_days=truth.lookback_days,
    )
    result = run(root, [(k, truth.onsets[k]) for k in truth.index_keys], rules)
    close = {(r.index_key, r.contact_key, r.place_key) for r in result.rows if r.degree == 1}
    second = {(r.index_key, r.contact_key, r.place_key) for r in result.rows if r.degree == 2}
    assert truth.close_contacts and truth.secondary_contacts and truth.non_contacts
    assert close == truth.close_contacts
    assert second == truth.secondary_contacts
    found_pairs = {(i, c) for i, c, _ in close | second}
    assert not {(i, c) for i, c, _ in truth.non_contacts} & found_pairs
    assert result.index_without_data == [] and result.records_scanned > 10_000
