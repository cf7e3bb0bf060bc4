"""The synthetic generator: deterministic for a seed, and its planted truth is what the data says.

`oracle` finds close and secondary contacts straight from the Parquet files by the definitions in
synth's docstring (a plain self-join, fine at test size), so the truth is checked against the data,
background included, not against the generator's own bookkeeping."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from jiedao.tracing import store, synth
from jiedao.tracing.schema import BULK, CELL, VENUE_SCAN

START = date(2024, 3, 1)
SMALL = dict(
    persons=3000,
    venues=40,
    cells=25,
    days=7,
    start_day=START,
    seed=11,
    index_cases=3,
    busy_venues=4,  # three with an index case, one without
    busy_scans=1500,
)


def connect(root) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    globs = store.parquet_globs(root, date.min, date.max)
    con.execute("CREATE TABLE p AS SELECT * FROM read_parquet($g)", {"g": globs})
    return con


def oracle(root, truth: synth.Truth) -> tuple[set, set]:
    con = connect(root)
    con.register(
        "onsets",
        pa.table({"person_key": list(truth.onsets), "onset": list(truth.onsets.values())}),
    )
    w_us = truth.scan_window_minutes * 60_000_000
    n_us = truth.min_overlap_minutes * 60_000_000

    def co_present(a: str, b: str) -> str:
        return (
            f"{a}.place_key = {b}.place_key AND {a}.source = {b}.source "
            f"AND {a}.person_key <> {b}.person_key AND CASE WHEN {a}.source = '{VENUE_SCAN}' "
            f"THEN abs(epoch_us({a}.start_ts) - epoch_us({b}.start_ts)) <= {w_us} "
            f"ELSE epoch_us(least({a}.end_ts, {b}.end_ts)) "
            f"- epoch_us(greatest({a}.start_ts, {b}.start_ts)) >= {n_us} END"
        )

    con.execute(
        f"""CREATE TABLE close AS
        SELECT i.person_key AS index_key, o.person_key AS contact, o.place_key,
               greatest(i.start_ts, o.start_ts) AS exposed_at
        FROM p i JOIN onsets USING (person_key) JOIN p o ON {co_present("i", "o")}
        WHERE i.start_ts BETWEEN onset - INTERVAL ({truth.lookback_days}) DAY AND onset"""
    )
    close = set(con.execute("SELECT index_key, contact, place_key FROM close").fetchall())
    secondary = set(
        con.execute(
            f"""WITH exposure AS (
                  SELECT index_key, contact, min(exposed_at) AS exposed_at FROM close GROUP BY ALL)
            SELECT DISTINCT e.index_key, o.person_key, o.place_key
            FROM exposure e JOIN p a ON a.person_key = e.contact JOIN p o ON {co_present("a", "o")}
            WHERE greatest(a.start_ts, o.start_ts) >= e.exposed_at
              AND o.person_key NOT IN (SELECT person_key FROM onsets)
              AND NOT EXISTS (SELECT 1 FROM close c
                              WHERE c.index_key = e.index_key AND c.contact = o.person_key)"""
        ).fetchall()
    )
    return close, secondary


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("presence")
    return root, synth.generate(root, **SMALL)


def test_the_planted_truth_is_exactly_what_the_data_holds(small):
    root, truth = small
    close, secondary = oracle(root, truth)
    assert close == truth.close_contacts
    assert secondary == truth.secondary_contacts
    assert not truth.non_contacts & (close | secondary)
    # every kind of case is there, for every index case
    assert len(truth.index_keys) == 3
    for index in truth.index_keys:
        kinds = {e["kind"] for e in truth.events if e["index"] == index}
        assert {
            "venue",
            "cell",
            "bulk",
            "venue_plus_w",
            "venue_plus_w_1min",
            "venue_plus_w_1s",
            "cell_exactly_n",
            "cell_n_minus_1min",
            "cell_touching",
            "before_lookback",
            "secondary_venue",
            "secondary_cell",
            "before_exposure",
            "contact_of_non_contact",
        } <= kinds
    assert {e["source"] for e in truth.events if e["expected"] == "close"} == {
        VENUE_SCAN,
        CELL,
        BULK,
    }


def test_the_truth_file_round_trips(small):
    root, truth = small
    loaded = synth.Truth.load(root)
    assert loaded == truth
    assert loaded.scan_window_minutes == synth.SCAN_WINDOW_MINUTES == 15
    assert loaded.min_overlap_minutes == synth.MIN_OVERLAP_MINUTES == 15
    assert loaded.lookback_days == synth.LOOKBACK_DAYS == 4
    assert all(isinstance(v, datetime) for v in loaded.onsets.values())


def pair_rows(con, event) -> list[tuple]:
    return con.execute(
        "SELECT person_key, start_ts, end_ts FROM p WHERE place_key = ? ORDER BY start_ts, person_key",
        [event["place"]],
    ).fetchall()


def test_boundary_cases_sit_exactly_on_the_boundary(small):
    root, truth = small
    con = connect(root)
    w = timedelta(minutes=truth.scan_window_minutes)
    n = timedelta(minutes=truth.min_overlap_minutes)
    expected_gap = {
        "venue_plus_w": (w, "close"),
        "venue_minus_w": (w, "close"),
        "venue_plus_w_1min": (w + timedelta(minutes=1), "none"),
        "venue_minus_w_1min": (w + timedelta(minutes=1), "none"),
        "venue_plus_w_1s": (w + timedelta(seconds=1), "none"),
    }
    expected_overlap = {
        "cell_exactly_n": (n, "close"),
        "cell_n_minus_1min": (n - timedelta(minutes=1), "none"),
        "cell_touching": (timedelta(0), "none"),
    }
    seen = 0
    for event in truth.events:
        rows = pair_rows(con, event)
        if event["kind"] in expected_gap:
            gap, expected = expected_gap[event["kind"]]
            assert len(rows) == 2, event
            assert rows[1][1] - rows[0][1] == gap
            assert event["index"] in {r[0] for r in rows}
        elif event["kind"] in expected_overlap:
            overlap, expected = expected_overlap[event["kind"]]
            (_, s1, e1), (_, s2, e2) = rows
            assert min(e1, e2) - max(s1, s2) == overlap
        else:
            continue
        assert event["expected"] == expected
        triple = (event["index"], event["person"], event["place"])
        assert (triple in truth.close_contacts) == (expected == "close")
        seen += 1
    assert seen == 8 * len(truth.index_keys)


def test_busy_venues_hold_thousands_of_scans_in_one_hour(small):
    root, truth = small
    con = connect(root)
    assert len(truth.busy_venue_keys) == 4
    for venue in truth.busy_venue_keys:
        scans, span = con.execute(
            "SELECT count(*), max(start_ts) - min(start_ts) FROM p WHERE place_key = ?", [venue]
        ).fetchall()[0]
        assert scans >= SMALL["busy_scans"]
        assert span < timedelta(hours=1)
    busy_close = {t for t in truth.close_contacts if t[2] in truth.busy_venue_keys}
    busy_secondary = {t for t in truth.secondary_contacts if t[2] in truth.busy_venue_keys}
    # about a quarter of the crowd is within ±15 min of an index case's scan at the hour's start
    assert 200 < len(busy_close) // 3 < 600
    assert busy_secondary


def test_index_cases_and_planted_people_stay_out_of_the_background(small):
    root, truth = small
    con = connect(root)
    planted_from = synth.person_key(truth.persons)
    (background_with_planted_place,) = con.execute(
        "SELECT count(*) FROM p WHERE person_key < ? AND (place_key >= ? AND place_key LIKE 'V%' "
        "OR place_key >= ? AND place_key LIKE 'C%')",
        [planted_from, synth.venue_key(truth.venues), synth.cell_key(truth.cells)],
    ).fetchall()[0]
    assert background_with_planted_place == 0
    # the background is not empty and has contacts of its own (so isolation is not trivial)
    (background,) = con.execute("SELECT count(*) FROM p WHERE person_key < ?", [planted_from]).fetchall()[0]
    assert (
        background
        == truth.rows_written
        - con.execute("SELECT count(*) FROM p WHERE person_key >= ?", [planted_from]).fetchall()[0][0]
    )
    assert background > 100_000
    # index cases appear every day up to onset (their own life), never after onset
    for index, onset in truth.onsets.items():
        (after,) = con.execute(
            "SELECT count(*) FROM p WHERE person_key = ? AND end_ts > ?", [index, onset]
        ).fetchall()[0]
        assert after == 0


def fingerprint(root) -> tuple:
    return (
        connect(root)
        .execute("SELECT count(*), sum(hash(person_key, place_key, start_ts, end_ts, source)) FROM p")
        .fetchall()[0]
    )


def test_generation_is_deterministic_for_a_seed(tmp_path):
    params = dict(SMALL, persons=400, busy_venues=1, busy_scans=200, index_cases=2)
    a = synth.generate(tmp_path / "a", **params)
    b = synth.generate(tmp_path / "b", **params)
    c = synth.generate(tmp_path / "c", **dict(params, seed=12))
    assert a.to_json() == b.to_json()
    assert fingerprint(tmp_path / "a") == fingerprint(tmp_path / "b")
    assert fingerprint(tmp_path / "a") != fingerprint(tmp_path / "c")
    assert a.close_contacts != c.close_contacts  # planted offsets follow the seed too


def test_other_rule_parameters_are_planted_and_recorded(tmp_path):
    truth = synth.generate(
        tmp_path,
        persons=300,
        venues=10,
        cells=10,
        days=6,
        start_day=START,
        seed=5,
        index_cases=2,
        busy_venues=0,
        scan_window_minutes=10,
        min_overlap_minutes=20,
        lookback_days=2,
    )
    assert (truth.scan_window_minutes, truth.min_overlap_minutes, truth.lookback_days) == (10, 20, 2)
    assert not truth.busy_venue_keys
    close, secondary = oracle(tmp_path, truth)
    assert close == truth.close_contacts
    assert secondary == truth.secondary_contacts


def test_generate_refuses_a_store_with_data_and_too_few_days(tmp_path):
    store.write_presence(tmp_path, [("p", "V", datetime(2024, 3, 1), datetime(2024, 3, 1), VENUE_SCAN)])
    with pytest.raises(ValueError, match="already holds"):
        synth.generate(tmp_path, **SMALL)
    with pytest.raises(ValueError, match="at least"):
        synth.generate(tmp_path / "new", **dict(SMALL, days=6))


def test_a_million_rows_are_generated_in_day_partitions(tmp_path):
    # 24,000 people × 7 days × (2 scans + 4 cell records) ≈ 1.0M background rows
    truth = synth.generate(
        tmp_path,
        persons=24_000,
        venues=2_000,
        cells=800,
        days=7,
        start_day=START,
        seed=1,
        index_cases=5,
        chunk_rows=250_000,
    )
    counts = store.day_counts(tmp_path)
    assert list(counts) == [START + timedelta(days=d) for d in range(7)]
    assert all(n > 100_000 for n in counts.values())
    assert sum(counts.values()) == truth.rows_written >= 1_000_000
    assert truth.duplicates < 100  # background repeats are rare, and counted
    assert len(truth.index_keys) == 5 and len(truth.busy_venue_keys) == 1
