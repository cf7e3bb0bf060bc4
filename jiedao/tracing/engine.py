"""Runs the one tracing query (query.py) on DuckDB (embedded, default) or Spark over the presence
store, reading only the days the look-back windows need, and reports what it could not use."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from jiedao.tracing.query import build_coverage_sql, build_stats_sql, build_trace_sql
from jiedao.tracing.rules import CLOSE, DEFAULT_RULES, Rules
from jiedao.tracing.schema import PARTITION

ENGINES = ("duckdb", "spark")
EPOCH = datetime(1970, 1, 1)
# Stays are partitioned by the day they start; a stay that began the day before a window opens can
# still overlap it, so one more day is read in front (stays longer than a day should be split).
DAYS_BEFORE = 1


class TraceRow(NamedTuple):
    index_key: str
    contact_key: str
    place_key: str
    overlap_start: datetime  # naive UTC, like the store
    overlap_end: datetime
    minutes: float
    source: str
    degree: int  # 1 close contact, 2 secondary contact
    via_key: str | None  # degree 2: the close contact it came through
    relation: str = CLOSE  # close_contact, secondary_contact or companion (rules.RELATIONS)


@dataclass
class TraceResult:
    engine: str
    rows: list[TraceRow]
    records_scanned: int  # presence records in the days read
    bad_records: int  # end before start: never paired
    unruled_records: int  # a source without a rule: ignored
    index_without_data: list[str]  # index cases with no record of their own in their window
    days_read: list[date]
    empty_days: list[date]  # days inside a look-back window with no record at all
    seconds: float
    rules: Rules = field(default=DEFAULT_RULES)

    def contacts(self, degree: int) -> set[tuple[str, str]]:
        """{(index_key, contact_key)} of one degree."""
        return {(r.index_key, r.contact_key) for r in self.rows if r.degree == degree}

    def related(self, relation: str) -> set[tuple[str, str]]:
        """{(index_key, contact_key)} of one relation (close_contact, secondary_contact, companion)."""
        return {(r.index_key, r.contact_key) for r in self.rows if r.relation == relation}


def _naive_utc(value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"onset must be a datetime, got {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def to_us(value: datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def windows(cases: list[tuple[str, datetime]], rules: Rules) -> tuple[list[date], list[date]]:
    """(days to read, days inside some look-back window). A companion rule reads its dwell days."""
    reach = timedelta(minutes=rules.max_reach_minutes())
    wanted: set[date] = set()
    inside: set[date] = set()
    for _, onset in cases:
        start = onset - timedelta(days=rules.lookback_days)
        day = start.date()
        while day <= onset.date():
            inside.add(day)
            day += timedelta(days=1)
        history = onset - timedelta(days=rules.history_days())
        day = (min(start, history) - reach).date() - timedelta(days=DAYS_BEFORE)
        while day <= (onset + reach).date():
            wanted.add(day)
            day += timedelta(days=1)
    return sorted(wanted), sorted(inside)


def _day_dirs(root: Path, days: list[date]) -> list[tuple[date, Path]]:
    found = []
    for day in days:
        path = root / f"{PARTITION}={day.isoformat()}"
        if path.is_dir() and any(path.glob("*.parquet")):
            found.append((day, path))
    return found


def normalise_cases(index_cases: list[tuple[str, datetime]]) -> list[tuple[str, datetime]]:
    cases = [(str(key), _naive_utc(onset)) for key, onset in index_cases]
    keys = [k for k, _ in cases]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"index case listed twice: {', '.join(dupes)}")
    return cases


def trace(
    root: str | Path,
    index_cases: list[tuple[str, datetime]],
    rules: Rules = DEFAULT_RULES,
    engine: str = "duckdb",
    spark: Any = None,
) -> TraceResult:
    """Close (and, if the rules say so, secondary) contacts of `index_cases` [(person_key, onset or
    sampling time)] from the presence store at `root`. Rows are sorted."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "spark" and spark is None:
        raise ValueError("the spark engine needs a SparkSession (spark=...)")
    started = time.perf_counter()
    root = Path(root)
    cases = normalise_cases(index_cases)
    wanted, inside = windows(cases, rules)
    dirs = _day_dirs(root, wanted)
    days_read = [d for d, _ in dirs]
    if not cases or not dirs:
        return TraceResult(
            engine=engine,
            rows=[],
            records_scanned=0,
            bad_records=0,
            unruled_records=0,
            index_without_data=sorted(k for k, _ in cases),
            days_read=days_read,
            empty_days=inside,
            seconds=time.perf_counter() - started,
            rules=rules,
        )
    run = _run_duckdb if engine == "duckdb" else _run_spark
    raw, coverage, per_day = run(root, [p for _, p in dirs], cases, rules, spark)
    rows = sorted(
        TraceRow(
            index_key=r[0],
            contact_key=r[1],
            place_key=r[2],
            overlap_start=_from_us(int(r[3])),
            overlap_end=_from_us(int(r[4])),
            minutes=float(r[5]),
            source=r[6],
            degree=int(r[7]),
            via_key=r[8],
            relation=rules.relation(r[6], int(r[7])),
        )
        for r in raw
    )
    with_rows = {date.fromisoformat(str(day)) for day, n, _, _ in per_day if n}
    return TraceResult(
        engine=engine,
        rows=rows,
        records_scanned=sum(int(r[1]) for r in per_day),
        bad_records=sum(int(r[2]) for r in per_day),
        unruled_records=sum(int(r[3]) for r in per_day),
        index_without_data=sorted(k for k, n in coverage if not n),
        days_read=days_read,
        empty_days=[d for d in inside if d not in with_rows],
        seconds=time.perf_counter() - started,
        rules=rules,
    )


_Run = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _run_duckdb(
    root: Path, dirs: list[Path], cases: list[tuple[str, datetime]], rules: Rules, spark: Any
) -> _Run:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    try:
        globs = ", ".join("'" + str(p / "*.parquet").replace("'", "''") + "'" for p in dirs)
        con.execute(
            f"CREATE VIEW presence AS SELECT * FROM read_parquet([{globs}], hive_partitioning = true)"
        )
        index_table = pa.table(
            {
                "person_key": pa.array([k for k, _ in cases], pa.string()),
                "onset_ts": pa.array([o for _, o in cases], pa.timestamp("us")),
            }
        )
        con.register("index_cases", index_table)
        raw = con.execute(build_trace_sql(rules, "duckdb")).fetchall()
        coverage = con.execute(build_coverage_sql(rules, "duckdb")).fetchall()
        per_day = con.execute(build_stats_sql(rules, PARTITION)).fetchall()
    finally:
        con.close()
    return raw, coverage, per_day


def _run_spark(
    root: Path, dirs: list[Path], cases: list[tuple[str, datetime]], rules: Rules, spark: Any
) -> _Run:
    # a session of its own keeps this run's temporary views apart from other runs on the same context
    session = spark.newSession()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    frame = session.read.option("basePath", str(root)).parquet(*[str(p) for p in dirs])
    frame.createOrReplaceTempView("presence")
    session.createDataFrame(
        [(k, to_us(o)) for k, o in cases], "person_key string, onset_us bigint"
    ).selectExpr("person_key", "timestamp_micros(onset_us) AS onset_ts").createOrReplaceTempView(
        "index_cases"
    )
    raw = [tuple(r) for r in session.sql(build_trace_sql(rules, "spark")).collect()]
    coverage = [tuple(r) for r in session.sql(build_coverage_sql(rules, "spark")).collect()]
    per_day = [tuple(r) for r in session.sql(build_stats_sql(rules, PARTITION)).collect()]
    return raw, coverage, per_day
