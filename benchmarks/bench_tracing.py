"""Contact tracing at city scale: close and secondary contacts of `--index-cases` index cases (default
100) from `--rows` presence records over `--days` days (default 50,000,000 over 14), on DuckDB and on
Spark (`local[2]`), beside a PostgreSQL range-overlap query (GiST on (place_key, tsrange), btree_gist)
and a pandas implementation, all on the same data in the same run; then the same at smaller sizes
(`--scales`, default 10 %, 40 % and 100 % of `--rows`) to show how the cost grows.

The data: `jiedao.tracing.synth.generate` (background people scanning venues and leaving cell records,
plus, per index case, planted close and secondary contacts, boundary cases and near misses; the first
`--busy-venues` index cases (default 1, the generator's default) also scan at a venue with 3,000 scans
in an hour). persons = rows / (days x 6), venues = persons / 20, cells = persons / 100, so a venue sees ~40 scans a day and a
cell ~400 records a day at every scale.

Per scale:
- **the limit**: one full scan of the days the trace reads, every column, with an aggregate (DuckDB);
  every engine's time is also given as a ratio to it, and rows/s = records in the days read / seconds;
- **DuckDB**: `engine.trace(..., engine="duckdb")`, best of 2;
- **Spark**: `engine.trace(..., engine="spark")` on one `local[2]` session (127.0.0.1 only, UI off),
  cold (first trace at that size) and warm (second);
- **pandas**: the same rules with pandas merges on (place, time bin), reading only the days needed;
- **PostgreSQL**: a scratch database (`--pg-url`), an UNLOGGED table loaded with COPY (streamed from
  the Parquet files as CSV), a GiST index on (place_key, tsrange(start_ts, end_ts, '[]')) and a btree on
  person_key; load, index build and query timed separately; the query joins on place and range overlap
  (`&&`, a venue scan widened to [t-W, t+W]) and applies the same exact rules. Sizes above
  `--pg-max-rows` (default 20,000,000: the GiST build took 18 minutes at 20M on this 2-core machine,
  so ~48 at 50M) are not loaded, and the result says so;
- **binning against a range join** on DuckDB: the engine's SQL (equi-join on (place, time bin), then
  the exact rule) against a variant written here (equi-join on place only, the interval inequality as
  the join condition), both to the same full evidence rows, on the planted workload (with its busy
  venues) and on a crowded one: `--crowded-cases` (default 6) background people as index cases, half
  of them regulars of the busiest venue, the rest spread over everyone (home cells of ~100 people).

Correctness: every engine's contact set {(index, contact, degree)} must equal the planted truth and
each other, and the range join's rows must equal the binned rows; the result records each check and a
wrong answer is printed as WRONG. Quick tries (not saved): `python -m benchmarks tracing --rows 2000000
--scales 2000000` (one size, about 4 minutes, mostly Spark's fixed costs and the GiST build); with
`--spark 0 --pg-max-rows 0` about 15 seconds."""

from __future__ import annotations

import argparse
import gc
import io
import os
import shutil
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import options, ratio, say, write

DEFAULTS = dict(
    rows=50_000_000,
    index_cases=100,
    days=14,
    seed=7,
    busy_venues=1,
    crowded_cases=6,
    pg_max_rows=20_000_000,
    pandas_max_rows=50_000_000,
    spark=1,
    timeout=600,
)
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432"
START_DAY = date(2026, 3, 2)
SPARK_MEMORY = "8g"
SPARK_SHUFFLE_PARTITIONS = 8
US_PER_MINUTE = 60_000_000
US_PER_DAY = 86_400_000_000


def bench_rules() -> Any:
    """The rules the planted truth follows, spelled out (not DEFAULT_RULES, whose defaults may grow)."""
    from jiedao.tracing import synth
    from jiedao.tracing.rules import OVERLAP, SCAN, Rules, SourceRule
    from jiedao.tracing.schema import BULK, CELL, VENUE_SCAN

    return Rules(
        sources=(
            SourceRule(VENUE_SCAN, SCAN, window_minutes=synth.SCAN_WINDOW_MINUTES),
            SourceRule(CELL, OVERLAP, min_overlap_minutes=synth.MIN_OVERLAP_MINUTES),
            SourceRule(BULK, OVERLAP, min_overlap_minutes=synth.MIN_OVERLAP_MINUTES),
        ),
        lookback_days=synth.LOOKBACK_DAYS,
        secondary=True,
    )


def sizes(rows: int, days: int) -> dict[str, int]:
    persons = max(200, rows // (days * 6))
    return {"persons": persons, "venues": max(20, persons // 20), "cells": max(10, persons // 100)}


# ---- the days a trace reads ---------------------------------------------------------------------


def days_read(root: Path, cases: list[tuple[str, datetime]], rules: Any) -> tuple[list[date], list[Path]]:
    """The same days engine.trace reads (its look-back windows plus the day before)."""
    from jiedao.tracing import engine

    wanted, _inside = engine.windows(cases, rules)
    dirs = engine._day_dirs(root, wanted)
    return [d for d, _ in dirs], [p for _, p in dirs]


def parquet_files(dirs: list[Path]) -> list[str]:
    return sorted(str(f) for d in dirs for f in d.glob("*.parquet"))


def duck(files: list[str], cases: list[tuple[str, datetime]]) -> Any:
    """A DuckDB connection with the `presence` and `index_cases` views the tracing SQL reads."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    globs = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(f"CREATE VIEW presence AS SELECT * FROM read_parquet([{globs}], hive_partitioning = true)")
    con.register(
        "index_cases",
        pa.table(
            {
                "person_key": pa.array([k for k, _ in cases], pa.string()),
                "onset_ts": pa.array([o for _, o in cases], pa.timestamp("us")),
            }
        ),
    )
    return con


def limit_scan(files: list[str]) -> tuple[float, int]:
    """One full scan: every column of every file of the days read, with an aggregate."""
    con = duck(files, [])
    try:
        started = time.perf_counter()
        n = con.execute(
            "SELECT count(*), max(person_key), max(place_key), max(start_ts), max(end_ts), max(source) "
            "FROM presence"
        ).fetchone()[0]
        return time.perf_counter() - started, int(n)
    finally:
        con.close()


# ---- DuckDB: the engine's binned SQL against a range join ------------------------------------------


def _case(rules: Any, column: str, by_kind: dict[str, str]) -> str:
    whens = " ".join(
        f"WHEN '{r.source}' THEN "
        + by_kind[r.kind].format(w=r.window_minutes * US_PER_MINUTE, n=r.min_overlap_minutes * US_PER_MINUTE)
        for r in rules.sources
    )
    return f"CASE {column} {whens} END"


def range_join_sql(rules: Any) -> str:
    """The engine's query (query.build_trace_sql, DuckDB dialect) with its (place, bin) equi-join
    replaced by an equi-join on place and source with the interval inequality in the join condition;
    the same columns, the same earliest-evidence rows and the same secondary-contact rules."""
    from jiedao.tracing.rules import OVERLAP, SCAN

    sources = ", ".join(f"'{r.source}'" for r in rules.sources)
    reach = _case(rules, "a.source", {SCAN: "{w}", OVERLAP: "0"})
    keep = _case(
        rules,
        "a.source",
        {
            SCAN: "abs(a.s - b.s) <= {w}",
            OVERLAP: "least(a.e, b.e) > greatest(a.s, b.s) AND least(a.e, b.e) - greatest(a.s, b.s) >= {n}",
        },
    )
    o_end = _case(rules, "a.source", {SCAN: "least(a.s, b.s) + {w}", OVERLAP: "least(a.e, b.e)"})

    def earliest(seed: str) -> str:
        match = (
            "SELECT a.root_key, a.seed_key, b.person_key AS contact_key, a.place_key, "
            f"greatest(a.s, b.s) AS o_start, {o_end} AS o_end, a.source FROM {seed} a JOIN p b "
            f"ON a.place_key = b.place_key AND a.source = b.source AND b.s <= a.e + {reach} "
            f"AND b.e >= a.s - {reach} WHERE b.person_key <> a.seed_key AND {keep}"
        )
        return (
            "SELECT root_key, seed_key, contact_key, place_key, o_start, o_end, source FROM ("
            "SELECT u.*, row_number() OVER (PARTITION BY u.root_key, u.contact_key, u.place_key "
            f"ORDER BY u.o_start, u.o_end DESC, u.source, u.seed_key) AS rn FROM ({match}) u) r WHERE r.rn = 1"
        )

    lookback = rules.lookback_days * US_PER_DAY
    ctes = [
        "idx AS (SELECT person_key AS index_key, epoch_us(onset_ts) AS t_end, "
        f"epoch_us(onset_ts) - {lookback} AS t_start FROM index_cases)",
        "p AS (SELECT person_key, place_key, source, epoch_us(start_ts) AS s, epoch_us(end_ts) AS e "
        f"FROM presence WHERE end_ts >= start_ts AND source IN ({sources}))",
        "seed1 AS (SELECT i.index_key AS root_key, i.index_key AS seed_key, p.place_key, p.source, "
        "greatest(p.s, i.t_start) AS s, least(p.e, i.t_end) AS e "
        "FROM idx i JOIN p ON p.person_key = i.index_key WHERE p.e >= i.t_start AND p.s <= i.t_end)",
        f"close1 AS ({earliest('seed1')})",
        "exposure AS (SELECT root_key, contact_key, min(o_start) AS t_exp FROM close1 GROUP BY root_key, contact_key)",
        "seed2 AS (SELECT x.root_key, x.contact_key AS seed_key, p.place_key, p.source, "
        "greatest(p.s, x.t_exp) AS s, least(p.e, i.t_end) AS e "
        "FROM exposure x JOIN idx i ON i.index_key = x.root_key JOIN p ON p.person_key = x.contact_key "
        "WHERE greatest(p.s, x.t_exp) <= least(p.e, i.t_end))",
        f"pairs2 AS ({earliest('seed2')})",
    ]
    minutes = f"CAST(o_end - o_start AS DOUBLE) / {US_PER_MINUTE}"
    if not rules.secondary:
        return (
            "WITH "
            + ",\n".join(ctes[:4])
            + (
                "\nSELECT root_key AS index_key, contact_key, place_key, o_start AS overlap_start_us, "
                f"o_end AS overlap_end_us, {minutes} AS minutes, source, 1 AS degree, CAST(NULL AS STRING) AS via_key "
                "FROM close1"
            )
        )
    out = (
        "SELECT index_key, contact_key, place_key, overlap_start_us, overlap_end_us, minutes, source, degree, "
        "via_key FROM (SELECT t.*, min(t.degree) OVER (PARTITION BY t.index_key, t.contact_key) AS lowest FROM ("
        "SELECT root_key AS index_key, contact_key, place_key, o_start AS overlap_start_us, o_end AS overlap_end_us, "
        f"{minutes} AS minutes, source, 1 AS degree, CAST(NULL AS STRING) AS via_key FROM close1 UNION ALL "
        "SELECT root_key, contact_key, place_key, o_start, o_end, "
        f"{minutes}, source, 2, seed_key FROM pairs2 WHERE contact_key NOT IN (SELECT index_key FROM idx)) t) k "
        "WHERE k.degree = k.lowest"
    )
    return "WITH " + ",\n".join(ctes) + "\n" + out


def digest_sql(sql: str) -> str:
    """Rows, pairs by degree and an order-free hash of every evidence row: both variants are timed to
    the same small answer, so neither pays for moving millions of rows into Python."""
    return (
        "SELECT count(*) AS rows, count(DISTINCT CASE WHEN degree = 1 THEN index_key || '|' || contact_key END), "
        "count(DISTINCT CASE WHEN degree = 2 THEN index_key || '|' || contact_key END), "
        "sum(hash(index_key, contact_key, place_key, overlap_start_us, overlap_end_us, source, degree, "
        f"coalesce(via_key, ''))) FROM ({sql}) q"
    )


def timed_duck(
    files: list[str], cases: list[tuple[str, datetime]], sql: str, timeout: float
) -> dict[str, Any]:
    con = duck(files, cases)
    timer = threading.Timer(timeout, con.interrupt)
    timer.start()
    started = time.perf_counter()
    try:
        rows, close, secondary, digest = con.execute(digest_sql(sql)).fetchone()
        took = time.perf_counter() - started
        return {"seconds": round(took, 3), "rows": rows, "close_pairs": close, "secondary_pairs": secondary,
                "digest": str(digest)}  # fmt: skip
    except Exception as exc:  # interrupted at the timeout
        return {"seconds": None, "error": f"stopped after {timeout:.0f} s ({type(exc).__name__})"}
    finally:
        timer.cancel()
        con.close()


def crowded_cases(
    files: list[str], onset: datetime, rules: Any, persons: int, k: int
) -> tuple[list[tuple[str, datetime]], dict[str, Any]]:
    """Background people as index cases, all with the same onset: half of them regulars of the
    busiest venue in the look-back window (the skewed venue popularity makes it busier as the data
    grows), the rest spread evenly over everyone (whose home cells hold ~100 people)."""
    from jiedao.tracing import synth
    from jiedao.tracing.schema import VENUE_SCAN

    con = duck(files, [])
    try:
        since = onset - timedelta(days=rules.lookback_days)
        place, scans = con.execute(
            "SELECT place_key, count(*) FROM presence WHERE source = ? AND start_ts BETWEEN ? AND ? "
            "GROUP BY place_key ORDER BY count(*) DESC, place_key LIMIT 1",
            [VENUE_SCAN, since, onset],
        ).fetchone()
        regulars = [
            r[0]
            for r in con.execute(
                "SELECT person_key FROM presence WHERE place_key = ? AND start_ts BETWEEN ? AND ? "
                "GROUP BY person_key ORDER BY count(*) DESC, person_key LIMIT ?",
                [place, since, onset, k // 2],
            ).fetchall()
        ]
    finally:
        con.close()
    step = max(1, persons // max(1, k - len(regulars)))
    spread = [synth.person_key(j * step + 1) for j in range(k - len(regulars))]
    keys = list(dict.fromkeys(regulars + spread))
    total_scans = int(scans)
    return [(key, onset) for key in keys], {"place_key": place, "scans_in_window": total_scans}


def binned_vs_range(
    files: list[str], cases: list[tuple[str, datetime]], rules: Any, timeout: float, label: str
) -> dict[str, Any]:
    from jiedao.tracing.query import build_trace_sql

    binned = timed_duck(files, cases, build_trace_sql(rules, "duckdb"), timeout)
    ranged = timed_duck(files, cases, range_join_sql(rules), timeout)
    same = bool(binned.get("seconds") and ranged.get("seconds")) and all(
        binned[k] == ranged[k] for k in ("rows", "close_pairs", "secondary_pairs", "digest")
    )
    fmt = lambda r: f"{r['seconds']:.2f} s" if r.get("seconds") else r.get("error")  # noqa: E731
    say(
        f"{label}: binned {fmt(binned)} vs range join {fmt(ranged)} "
        f"({binned.get('rows', '?')} rows; {'same rows' if same else 'ROWS DIFFER'})"
    )
    return {"binned": binned, "range_join": ranged, "same_rows": same,
            "range_over_binned": ratio(ranged["seconds"] or 0, binned["seconds"] or 0)}  # fmt: skip


# ---- pandas ---------------------------------------------------------------------------------------


def pandas_trace(
    files: list[str], cases: list[tuple[str, datetime]], rules: Any
) -> set[tuple[str, str, int]]:
    """The same rules with pandas: read the days needed, equi-merge on (place, time bin) as the engine
    does (scans: W-minute bins, the seed copied to its bin and both neighbours; stays: exploded into
    `bin_minutes` bins, a pair kept in the first bin both cover), then the exact rule. Returns the
    contact set {(index, contact, degree)}."""
    import numpy as np
    import pandas as pd

    from jiedao.tracing.rules import SCAN

    cols = ["person_key", "place_key", "start_ts", "end_ts", "source"]
    df = pd.concat([pd.read_parquet(f, columns=cols) for f in files], ignore_index=True)
    p = pd.DataFrame(
        {
            "person_key": df["person_key"],
            "place_key": df["place_key"],
            "source": df["source"],
            "s": df["start_ts"].to_numpy().astype("datetime64[us]").astype("int64"),
            "e": df["end_ts"].to_numpy().astype("datetime64[us]").astype("int64"),
        }
    )
    del df
    p = p[(p["e"] >= p["s"]) & p["source"].isin([r.source for r in rules.sources])]
    onset = {k: int((o - datetime(1970, 1, 1)) / timedelta(microseconds=1)) for k, o in cases}
    idx = pd.DataFrame({"index_key": list(onset), "t_end": list(onset.values())})
    idx["t_start"] = idx["t_end"] - rules.lookback_days * US_PER_DAY

    def explode(frame: pd.DataFrame, first: Any, last: Any) -> pd.DataFrame:
        counts = (last - first + 1).to_numpy()
        out = frame.iloc[np.repeat(np.arange(len(frame)), counts)].reset_index(drop=True)
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        out["bin"] = np.repeat(first.to_numpy(), counts) + (np.arange(counts.sum()) - starts)
        return out

    def match(seed: pd.DataFrame) -> pd.DataFrame:
        """root_key, contact_key, o_start of every pair of a seed record with another person's record."""
        cand = p[p["place_key"].isin(seed["place_key"].unique())]
        found = []
        for rule in rules.sources:
            a = seed[seed["source"] == rule.source]
            b = cand[cand["source"] == rule.source][["person_key", "place_key", "s", "e"]]
            if a.empty or b.empty:
                continue
            if rule.kind == SCAN:
                w = rule.window_minutes * US_PER_MINUTE
                a = explode(a, a["s"] // w - 1, a["s"] // w + 1)
                b = b.assign(bin=b["s"] // w)
                j = a.merge(b, on=["place_key", "bin"], suffixes=("", "_b"))
                j = j[(j["person_key"] != j["seed_key"]) & ((j["s"] - j["s_b"]).abs() <= w)]
            else:
                width = rule.bin_minutes * US_PER_MINUTE
                n = rule.min_overlap_minutes * US_PER_MINUTE
                a = explode(a, a["s"] // width, a["e"] // width)
                b = explode(b, b["s"] // width, b["e"] // width)
                j = a.merge(b, on=["place_key", "bin"], suffixes=("", "_b"))
                over = np.minimum(j["e"], j["e_b"]) - np.maximum(j["s"], j["s_b"])
                first = np.maximum(j["s"] // width, j["s_b"] // width)
                j = j[(j["person_key"] != j["seed_key"]) & (j["bin"] == first) & (over > 0) & (over >= n)]
            found.append(
                pd.DataFrame(
                    {
                        "root_key": j["root_key"].to_numpy(),
                        "contact_key": j["person_key"].to_numpy(),
                        "o_start": np.maximum(j["s"], j["s_b"]).to_numpy(),
                    }
                )
            )
        return (
            pd.concat(found, ignore_index=True)
            if found
            else pd.DataFrame(columns=["root_key", "contact_key", "o_start"])
        )

    own = p[p["person_key"].isin(idx["index_key"])].merge(idx, left_on="person_key", right_on="index_key")
    own = own[(own["e"] >= own["t_start"]) & (own["s"] <= own["t_end"])]
    seed1 = pd.DataFrame(
        {
            "root_key": own["index_key"],
            "seed_key": own["index_key"],
            "place_key": own["place_key"],
            "source": own["source"],
            "s": np.maximum(own["s"], own["t_start"]),
            "e": np.minimum(own["e"], own["t_end"]),
        }
    )
    close = match(seed1).groupby(["root_key", "contact_key"], as_index=False)["o_start"].min()
    contacts = {(r, c, 1) for r, c in zip(close["root_key"], close["contact_key"], strict=True)}
    if rules.secondary and not close.empty:
        x = close.rename(columns={"o_start": "t_exp"}).merge(idx, left_on="root_key", right_on="index_key")
        theirs = p[p["person_key"].isin(x["contact_key"].unique())]
        x = x.merge(theirs, left_on="contact_key", right_on="person_key")
        s2, e2 = np.maximum(x["s"], x["t_exp"]), np.minimum(x["e"], x["t_end"])
        keep = s2 <= e2
        seed2 = pd.DataFrame(
            {
                "root_key": x["root_key"][keep],
                "seed_key": x["contact_key"][keep],
                "place_key": x["place_key"][keep],
                "source": x["source"][keep],
                "s": s2[keep],
                "e": e2[keep],
            }
        )
        second = match(seed2)[["root_key", "contact_key"]].drop_duplicates()
        second = second[~second["contact_key"].isin(idx["index_key"])]
        pairs = {(r, c) for r, c, _ in contacts}
        contacts |= {
            (r, c, 2)
            for r, c in zip(second["root_key"], second["contact_key"], strict=True)
            if (r, c) not in pairs
        }
    return contacts


# ---- PostgreSQL -----------------------------------------------------------------------------------


def pg_trace_sql(rules: Any) -> str:
    """The same rules in PostgreSQL over `presence` and `idx(index_key, t_start, t_end)`: every join is
    a GiST probe on (place_key, tsrange) with the seed's range (a scan widened to [t-W, t+W]), then the
    exact rule. Returns the contact set (index_key, contact_key, degree)."""
    from jiedao.tracing.rules import OVERLAP, SCAN

    sources = ", ".join(f"'{r.source}'" for r in rules.sources)

    def case(by_kind: dict[str, str]) -> str:
        whens = " ".join(
            f"WHEN '{r.source}' THEN "
            + by_kind[r.kind].format(
                w=f"interval '{r.window_minutes} minutes'", n=f"interval '{r.min_overlap_minutes} minutes'"
            )
            for r in rules.sources
        )
        return f"CASE a.source {whens} END"

    reach = case({SCAN: "{w}", OVERLAP: "interval '0'"})
    keep = case(
        {
            SCAN: "b.start_ts BETWEEN a.s - {w} AND a.s + {w}",
            OVERLAP: "least(a.e, b.end_ts) > greatest(a.s, b.start_ts) "
            "AND least(a.e, b.end_ts) - greatest(a.s, b.start_ts) >= {n}",
        }
    )

    def pairs(seed: str) -> str:
        return (
            f"FROM {seed} a JOIN presence b ON b.place_key = a.place_key "
            f"AND tsrange(b.start_ts, b.end_ts, '[]') && tsrange(a.s - {reach}, a.e + {reach}, '[]') "
            f"WHERE b.source = a.source AND b.person_key <> a.seed_key AND b.end_ts >= b.start_ts AND {keep}"
        )

    return (
        "WITH seed1 AS MATERIALIZED (SELECT i.index_key AS root_key, i.index_key AS seed_key, p.place_key, "
        "p.source, greatest(p.start_ts, i.t_start) AS s, least(p.end_ts, i.t_end) AS e "
        "FROM idx i JOIN presence p ON p.person_key = i.index_key "
        f"WHERE p.end_ts >= i.t_start AND p.start_ts <= i.t_end AND p.end_ts >= p.start_ts AND p.source IN ({sources})),\n"
        "close1 AS MATERIALIZED (SELECT a.root_key, b.person_key AS contact_key, "
        f"min(greatest(a.s, b.start_ts)) AS t_exp {pairs('seed1')} GROUP BY 1, 2),\n"
        "seed2 AS MATERIALIZED (SELECT x.root_key, x.contact_key AS seed_key, p.place_key, p.source, "
        "greatest(p.start_ts, x.t_exp) AS s, least(p.end_ts, i.t_end) AS e "
        "FROM close1 x JOIN idx i ON i.index_key = x.root_key JOIN presence p ON p.person_key = x.contact_key "
        f"WHERE greatest(p.start_ts, x.t_exp) <= least(p.end_ts, i.t_end) AND p.end_ts >= p.start_ts "
        f"AND p.source IN ({sources})),\n"
        f"pairs2 AS (SELECT DISTINCT a.root_key, b.person_key AS contact_key {pairs('seed2')})\n"
        "SELECT root_key, contact_key, 1 FROM close1 UNION ALL "
        "SELECT s.root_key, s.contact_key, 2 FROM pairs2 s WHERE s.contact_key NOT IN (SELECT index_key FROM idx) "
        "AND NOT EXISTS (SELECT 1 FROM close1 c WHERE c.root_key = s.root_key AND c.contact_key = s.contact_key)"
    )


class Postgres:
    """A scratch database for the run, dropped at the end."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url.rstrip("/")
        self.name = f"jiedao_bench_tracing_{os.getpid()}"
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.name}")
            admin.execute(f"CREATE DATABASE {self.name}")
            self.version = admin.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        self.conn = psycopg.connect(f"{self.url}/{self.name}", autocommit=True)
        self.conn.execute("CREATE EXTENSION btree_gist")
        self.settings = {"work_mem": "256MB", "maintenance_work_mem": "2GB"}
        for key, value in self.settings.items():
            self.conn.execute(f"SET {key} = '{value}'")

    def load(self, files: list[str]) -> dict[str, Any]:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        c = self.conn
        c.execute("DROP TABLE IF EXISTS presence")
        c.execute(
            "CREATE UNLOGGED TABLE presence (person_key text NOT NULL, place_key text NOT NULL, "
            "start_ts timestamp NOT NULL, end_ts timestamp NOT NULL, source text NOT NULL)"
        )
        started = time.perf_counter()
        n = 0
        with (
            c.cursor() as cur,
            cur.copy(
                "COPY presence (person_key, place_key, start_ts, end_ts, source) FROM STDIN (FORMAT csv)"
            ) as copy,
        ):
            for f in files:
                for batch in pq.ParquetFile(f).iter_batches(
                    batch_size=500_000, columns=["person_key", "place_key", "start_ts", "end_ts", "source"]
                ):
                    buf = io.BytesIO()
                    pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=False))
                    copy.write(buf.getvalue())
                    n += batch.num_rows
        load = time.perf_counter() - started
        started = time.perf_counter()
        c.execute(
            "CREATE INDEX presence_place_during ON presence USING gist (place_key, tsrange(start_ts, end_ts, '[]'))"
        )
        gist = time.perf_counter() - started
        started = time.perf_counter()
        c.execute("CREATE INDEX presence_person ON presence (person_key)")
        btree = time.perf_counter() - started
        started = time.perf_counter()
        c.execute("ANALYZE presence")
        analyze = time.perf_counter() - started
        size = c.execute("SELECT pg_total_relation_size('presence')").fetchone()[0]  # type: ignore[index]
        return {"rows_loaded": n, "load_seconds": round(load, 2), "load_rows_per_s": round(n / load),
                "gist_index_seconds": round(gist, 2), "btree_person_index_seconds": round(btree, 2),
                "analyze_seconds": round(analyze, 2), "total_bytes": size}  # fmt: skip

    def trace(
        self, cases: list[tuple[str, datetime]], rules: Any
    ) -> tuple[float, set[tuple[str, str, int]], str]:
        c = self.conn
        c.execute("DROP TABLE IF EXISTS idx")
        c.execute("CREATE TEMP TABLE idx (index_key text PRIMARY KEY, t_start timestamp, t_end timestamp)")
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO idx VALUES (%s, %s, %s)",
                [(k, o - timedelta(days=rules.lookback_days), o) for k, o in cases],
            )
        c.execute("ANALYZE idx")
        sql = pg_trace_sql(rules)
        plan = "\n".join(r[0] for r in c.execute("EXPLAIN " + sql).fetchall())
        started = time.perf_counter()
        found = {(r[0], r[1], int(r[2])) for r in c.execute(sql).fetchall()}
        return time.perf_counter() - started, found, plan

    def drop_table(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS presence")

    def close(self) -> None:
        import psycopg

        self.conn.close()
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.name}")


# ---- Spark ----------------------------------------------------------------------------------------


def start_spark() -> Any:
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("jiedao-bench-tracing")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", SPARK_MEMORY)
        .config("spark.sql.shuffle.partitions", str(SPARK_SHUFFLE_PARTITIONS))
        .config("spark.sql.adaptive.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_scan(spark: Any, dirs: list[Path], root: Path) -> float:
    started = time.perf_counter()
    spark.read.option("basePath", str(root)).parquet(*[str(d) for d in dirs]).selectExpr(
        "count(*)", "max(person_key)", "max(place_key)", "max(start_ts)", "max(end_ts)", "max(source)"
    ).collect()
    return time.perf_counter() - started


# ---- one size -------------------------------------------------------------------------------------


def contact_set(result: Any) -> set[tuple[str, str, int]]:
    return {(r.index_key, r.contact_key, int(r.degree)) for r in result.rows}


def truth_set(truth: Any) -> set[tuple[str, str, int]]:
    return {(i, c, 1) for i, c in truth.close_pairs()} | {(i, c, 2) for i, c in truth.secondary_pairs()}


def check(
    name: str, found: set[tuple[str, str, int]], truth: set[tuple[str, str, int]], ref: set | None
) -> dict:
    ok_truth = found == truth
    out = {
        "close_pairs": sum(1 for x in found if x[2] == 1),
        "secondary_pairs": sum(1 for x in found if x[2] == 2),
        "equals_truth": ok_truth,
        "missing_from_truth": len(truth - found),
        "not_in_truth": len(found - truth),
    }
    if ref is not None:
        out["equals_duckdb"] = found == ref
    if not ok_truth or not out.get("equals_duckdb", True):
        say(f"WRONG: {name} {out}")
    return out


def run_scale(
    n: int, args: argparse.Namespace, base: Path, spark: Any, pg: Postgres | None
) -> dict[str, Any]:
    from jiedao.tracing import engine, synth
    from jiedao.tracing.rules import Rules

    rules = bench_rules()
    root = base / f"presence-{n}"
    dims = sizes(n, args.days)
    say(f"--- {n:,} records: {dims}")
    started = time.perf_counter()
    truth = synth.generate(root, days=args.days, start_day=START_DAY, seed=args.seed,
                           index_cases=args.index_cases, busy_venues=args.busy_venues, **dims)  # fmt: skip
    gen = time.perf_counter() - started
    disk = sum(f.stat().st_size for f in root.rglob("*.parquet"))
    say(f"generated {truth.rows_written:,} records in {gen:.1f} s ({disk / 1e6:.0f} MB of Parquet)")
    cases = [(k, truth.onsets[k]) for k in truth.index_keys]
    expected = truth_set(truth)
    days, dirs = days_read(root, cases, rules)
    files = parquet_files(dirs)
    out: dict[str, Any] = {
        "records": truth.rows_written,
        "generate_seconds": round(gen, 1),
        "parquet_bytes": disk,
        **dims,
        "index_cases": len(cases),
        "days_read": len(days),
        "expected_close_pairs": len(truth.close_pairs()),
        "expected_secondary_pairs": len(truth.secondary_pairs()),
    }

    # the limit, then DuckDB (best of 2 each; the first run also warms the page cache)
    scans = [limit_scan(files) for _ in range(2)]
    limit = min(t for t, _ in scans)
    records_read = scans[0][1]
    out["records_read"] = records_read
    out["limit"] = {"what": "DuckDB, one scan of every column of the days read, with an aggregate",
                    "seconds": round(limit, 3), "rows_per_s": round(records_read / limit)}  # fmt: skip
    say(f"limit: one scan of {records_read:,} records in {limit:.2f} s = {records_read / limit:,.0f} rows/s")

    def entry(seconds: float, **extra: Any) -> dict[str, Any]:
        return {"seconds": round(seconds, 3), "ratio_to_limit": ratio(seconds, limit),
                "rows_per_s": round(records_read / seconds), **extra}  # fmt: skip

    runs = [engine.trace(root, cases, rules, engine="duckdb") for _ in range(2)]
    best = min(r.seconds for r in runs)
    ref = contact_set(runs[0])
    out["duckdb"] = entry(best, check=check("duckdb", ref, expected, None),
                          same_rows_both_runs=runs[0].rows == runs[1].rows)  # fmt: skip
    assert runs[0].records_scanned == records_read, (runs[0].records_scanned, records_read)
    say(f"duckdb: {best:.2f} s ({best / limit:.1f}x the scan), {len(runs[0].rows):,} rows")
    del runs
    gc.collect()

    # binning against a range join, on the planted cases and on crowded background people
    out["binned_vs_range_planted"] = binned_vs_range(files, cases, rules, args.timeout, "planted")
    onset = datetime.combine(START_DAY, datetime.min.time()) + timedelta(days=args.days - 4, hours=6)
    c_days, c_dirs = days_read(root, [("-", onset)], rules)
    c_files = parquet_files(c_dirs)
    crowded, top = crowded_cases(c_files, onset, rules, dims["persons"], args.crowded_cases)
    out["binned_vs_range_crowded"] = {
        "index_cases": len(crowded),
        "busiest_venue": top,
        "days_read": len(c_days),
        **binned_vs_range(c_files, crowded, rules, args.timeout, "crowded"),
    }
    close_only = Rules(sources=rules.sources, lookback_days=rules.lookback_days, secondary=False)
    out["binned_vs_range_crowded_close_only"] = binned_vs_range(
        c_files, crowded, close_only, args.timeout, "crowded, close contacts only"
    )

    if spark is not None:
        scan = min(spark_scan(spark, dirs, root) for _ in range(2))
        cold = engine.trace(root, cases, rules, engine="spark", spark=spark)
        warm = engine.trace(root, cases, rules, engine="spark", spark=spark)
        found = contact_set(warm)
        out["spark"] = entry(
            warm.seconds,
            cold_seconds=round(cold.seconds, 3),
            own_scan_seconds=round(scan, 3),
            ratio_to_own_scan=ratio(warm.seconds, scan),
            check=check("spark", found, expected, ref),
            same_rows_as_duckdb=None,  # filled below
            cold_equals_warm=contact_set(cold) == found,
        )
        duck_rows = engine.trace(root, cases, rules, engine="duckdb").rows
        out["spark"]["same_rows_as_duckdb"] = warm.rows == duck_rows
        say(f"spark local[2]: cold {cold.seconds:.1f} s, warm {warm.seconds:.1f} s ({warm.seconds / limit:.1f}x "
            f"the DuckDB scan; its own scan {scan:.1f} s)")  # fmt: skip
        del cold, warm, duck_rows
        gc.collect()

    if n <= args.pandas_max_rows:
        started = time.perf_counter()
        found = pandas_trace(files, cases, rules)
        took = time.perf_counter() - started
        out["pandas"] = entry(took, check=check("pandas", found, expected, ref))
        say(f"pandas: {took:.1f} s ({took / limit:.1f}x the scan)")
        del found
        gc.collect()
    else:
        out["pandas"] = {"skipped": f"above --pandas-max-rows {args.pandas_max_rows:,}"}

    if pg is not None and n <= args.pg_max_rows:
        loaded = pg.load(parquet_files(sorted(p for p in root.iterdir() if p.is_dir())))
        say(f"postgres: COPY {loaded['rows_loaded']:,} rows {loaded['load_seconds']} s, GiST "
            f"{loaded['gist_index_seconds']} s, btree {loaded['btree_person_index_seconds']} s")  # fmt: skip
        runs_pg = [pg.trace(cases, rules) for _ in range(2)]
        took = min(t for t, _, _ in runs_pg)
        out["postgres"] = entry(took, **loaded, plan=runs_pg[0][2],
                                check=check("postgres", runs_pg[1][1], expected, ref))  # fmt: skip
        say(f"postgres: query {took:.2f} s ({took / limit:.1f}x the scan)")
        pg.drop_table()
    elif pg is not None:
        out["postgres"] = {
            "skipped": f"above --pg-max-rows {args.pg_max_rows:,} (load and GiST build too slow here)"
        }
    shutil.rmtree(root, ignore_errors=True)
    return out


# ---- the table ------------------------------------------------------------------------------------


def table_rows(scales: list[dict[str, Any]]) -> list[tuple[str, Any, Any, Any]]:
    rows: list[tuple[str, Any, Any, Any]] = []
    for s in scales:
        tag = f"{s['records'] / 1e6:.1f}M"
        lim = s["limit"]["seconds"]
        rows.append((f"{tag} limit: one scan of {s['records_read']:,} records", f"{lim} s", "", 1.0))
        for name in ("duckdb", "spark", "pandas", "postgres"):
            e = s.get(name)
            if not e or "seconds" not in e:
                if e:
                    rows.append((f"{tag} {name}", e.get("skipped", "-"), "", ""))
                continue
            ok = e["check"]["equals_truth"] and e["check"].get("equals_duckdb", True)
            label = f"{tag} {name}{' (warm)' if name == 'spark' else ''}, {e['rows_per_s']:,} rows/s"
            rows.append(
                (label + ("" if ok else " WRONG"), f"{e['seconds']} s", f"{lim} s", e["ratio_to_limit"])
            )
        for key in ("binned_vs_range_planted", "binned_vs_range_crowded"):
            b = s[key]
            rows.append((f"{tag} DuckDB range join vs binned ({key.rsplit('_', 1)[1]})"
                         + ("" if b["same_rows"] else " ROWS DIFFER"),
                         f"{b['range_join']['seconds']} s", f"{b['binned']['seconds']} s", b["range_over_binned"]))  # fmt: skip
    return rows


def save(
    path: str,
    args: argparse.Namespace,
    scales: list[int],
    results: list[dict[str, Any]],
    pg: Postgres | None,
    notes: list[str],
    seconds: float,
    finished: bool,
) -> bool:
    """Written after every size, so a run stopped part-way still leaves what it measured."""
    checks = [e["check"] for s in results for e in s.values() if isinstance(e, dict) and "check" in e]
    same = [s[k]["same_rows"] for s in results for k in s if k.startswith("binned_vs_range")]
    all_correct = all(c["equals_truth"] and c.get("equals_duckdb", True) for c in checks) and all(same)
    from duckdb import __version__ as duckdb_version
    from pyarrow import __version__ as pyarrow_version

    versions = {"duckdb": duckdb_version, "pyarrow": pyarrow_version, "postgres": pg.version if pg else None}
    try:
        import pandas
        import pyspark

        versions |= {"pandas": pandas.__version__, "pyspark": pyspark.__version__}
    except ImportError:
        pass
    write(
        path,
        table_rows(results),
        params={k: getattr(args, k) for k in DEFAULTS} | {"scales": scales, "start_day": START_DAY},
        finished=finished,
        all_correct=all_correct,
        scales=results,
        spark_config={
            "master": "local[2]",
            "spark.driver.memory": SPARK_MEMORY,
            "spark.sql.shuffle.partitions": SPARK_SHUFFLE_PARTITIONS,
            "spark.sql.adaptive.enabled": True,
        },
        postgres_settings=pg.settings if pg else None,
        versions=versions,
        notes=notes,
        seconds=round(seconds, 1),
    )
    return all_correct


def main() -> None:
    args = options(__doc__ or "", **DEFAULTS)  # type: ignore[arg-type]
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--scales", default="")
    extra.add_argument("--pg-url", default=PG_DEFAULT)
    more, _ = extra.parse_known_args()
    scales = sorted({int(x) for x in more.scales.split(",") if x.strip()} or
                    {args.rows // 10, args.rows * 2 // 5, args.rows})  # fmt: skip
    base = Path(tempfile.mkdtemp(prefix="bench-tracing-", dir=os.environ.get("JIEDAO_VAR_DIR") or None))
    spark = pg = None
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        pg = Postgres(more.pg_url)
        if args.spark:
            t = time.perf_counter()
            spark = start_spark()
            notes.append(f"Spark session start {time.perf_counter() - t:.1f} s (not in any timing)")
        for n in scales:
            results.append(run_scale(n, args, base, spark, pg))
            say(f"({time.perf_counter() - started:.0f} s so far)")
            save(
                args.result, args, scales, results, pg, notes, time.perf_counter() - started, n == scales[-1]
            )
    finally:
        if spark is not None:
            spark.stop()
        if pg is not None:
            pg.close()
        shutil.rmtree(base, ignore_errors=True)
    ok = save(args.result, args, scales, results, pg, notes, time.perf_counter() - started, True)
    say("every engine agrees with the planted truth and each other" if ok else "WRONG ANSWERS: see above")


if __name__ == "__main__":
    main()
