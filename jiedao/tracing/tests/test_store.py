"""The presence store: validation by reason, duplicates, day partitions, reading, retention, bulk
files."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jiedao.tracing import store
from jiedao.tracing.schema import BULK, CELL, VENUE_SCAN

T = datetime(2024, 3, 5, 2, 0)  # UTC, naive
CST = timezone(timedelta(hours=8))


def stored_rows(root) -> list[tuple]:
    files = [str(p) for p in root.glob("day=*/*.parquet")]
    if not files:
        return []
    return duckdb.sql(
        "SELECT person_key, place_key, start_ts, end_ts, source FROM read_parquet($f) ORDER BY ALL",
        params={"f": files},
    ).fetchall()


def test_valid_rows_are_written_and_each_bad_kind_is_refused_and_counted(tmp_path):
    rows = [
        ("p1", "V1", T, T, VENUE_SCAN),  # good
        ("p2", "C1", T, T + timedelta(minutes=30), CELL),  # good
        ("p3", "C1", T, T - timedelta(seconds=1), CELL),  # end before start
        ("p4", "V1", T, T, "gps"),  # unknown source
        ("", "V1", T, T, VENUE_SCAN),  # empty person key
        ("p5", "   ", T, T, VENUE_SCAN),  # blank place key
        ("x" * (store.MAX_KEY_LENGTH + 1), "V1", T, T, VENUE_SCAN),  # oversized key
        ("p6", None, T, T, VENUE_SCAN),  # missing value
        ("p7", "V1", T, T + timedelta(minutes=5), VENUE_SCAN),  # a scan is a moment
        ("p8", "C1", T, T + store.MAX_STAY + timedelta(seconds=1), CELL),  # too long
        ("p9", "V1", "2024-03-05T10:00:00", "2024-03-05T10:00:00", VENUE_SCAN),  # no offset
        ("p10", "V1", "yesterday", "2024-03-05T10:00:00+08:00", VENUE_SCAN),  # unparsable
    ]
    report = store.write_presence(tmp_path, rows)

    assert report.written == 2
    assert report.duplicates == 0
    assert report.refused_by_reason == {
        store.END_BEFORE_START: 1,
        store.UNKNOWN_SOURCE: 1,
        store.EMPTY_KEY: 2,
        store.OVERSIZED_KEY: 1,
        store.MISSING_VALUE: 1,
        store.SCAN_WITH_DURATION: 1,
        store.STAY_TOO_LONG: 1,
        store.BAD_TIME: 2,
    }
    assert report.received == len(rows)
    assert report.examples[0] == (3, store.END_BEFORE_START)  # 1-based input row
    assert report.examples[-2:] == [(11, store.BAD_TIME), (12, store.BAD_TIME)]
    assert stored_rows(tmp_path) == [
        ("p1", "V1", T, T, VENUE_SCAN),
        ("p2", "C1", T, T + timedelta(minutes=30), CELL),
    ]


def test_a_stay_of_exactly_the_maximum_and_a_zero_length_stay_are_accepted(tmp_path):
    report = store.write_presence(
        tmp_path, [("p1", "C1", T, T + store.MAX_STAY, CELL), ("p2", "C1", T, T, BULK)]
    )
    assert report.written == 2 and report.refused == 0


def test_unknown_places_are_refused_only_when_the_known_places_are_given(tmp_path):
    rows = [("p1", "V1", T, T, VENUE_SCAN), ("p2", "V9", T, T, VENUE_SCAN)]
    report = store.write_presence(tmp_path / "a", rows, known_places={"V1"})
    assert report.written == 1
    assert report.refused_by_reason == {store.UNKNOWN_PLACE: 1}
    assert store.write_presence(tmp_path / "b", rows).written == 2


def test_all_refused_writes_nothing(tmp_path):
    report = store.write_presence(tmp_path, [("p1", "V1", T, T, "gps")])
    assert report.written == 0 and report.days == []
    assert store.read_days(tmp_path, date.min, date.max) == []


def test_duplicates_within_the_batch_and_against_the_store_are_skipped(tmp_path):
    rows = [("p1", "V1", T, T, VENUE_SCAN), ("p1", "V1", T, T, VENUE_SCAN)]
    first = store.write_presence(tmp_path, rows)
    assert (first.written, first.duplicates) == (1, 1)
    files_before = {p: p.stat().st_mtime_ns for p in tmp_path.glob("day=*/*.parquet")}

    later = T + timedelta(hours=1)
    second = store.write_presence(tmp_path, [*rows, ("p1", "V1", later, later, VENUE_SCAN)])
    assert (second.written, second.duplicates) == (1, 2)
    # the same row from another source is not a duplicate
    third = store.write_presence(tmp_path, [("p1", "V1", T, T, BULK)])
    assert (third.written, third.duplicates) == (1, 0)

    assert len(stored_rows(tmp_path)) == 3
    # earlier files are untouched: writes only add files
    for path, mtime in files_before.items():
        assert path.stat().st_mtime_ns == mtime
    assert len(list(tmp_path.glob("day=*/*.parquet"))) == 3


def test_rows_are_partitioned_by_the_utc_day_of_their_start(tmp_path):
    late = datetime(2024, 3, 5, 23, 59, 59)
    midnight = datetime(2024, 3, 6, 0, 0)
    morning_cst = datetime(2024, 3, 6, 7, 0, tzinfo=CST)  # 2024-03-05 23:00 UTC
    report = store.write_presence(
        tmp_path,
        [
            ("a", "C1", late, late + timedelta(hours=2), CELL),  # crosses midnight: start's day
            ("b", "V1", midnight, midnight, VENUE_SCAN),
            ("c", "V1", morning_cst, morning_cst, VENUE_SCAN),
        ],
    )
    assert report.days == [date(2024, 3, 5), date(2024, 3, 6)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day=2024-03-05", "day=2024-03-06"]
    day5 = pq.read_table(tmp_path / "day=2024-03-05").column("person_key").to_pylist()
    assert sorted(day5) == ["a", "c"]
    # the files hold the schema's columns and types; Hive reading adds the day back
    files = list((tmp_path / "day=2024-03-06").glob("*.parquet"))
    assert pq.read_schema(files[0]).names == list(store.COLUMNS)
    assert pq.read_schema(files[0]).field("start_ts").type == pa.timestamp("us")
    got = duckdb.sql(
        f"SELECT person_key, day, start_ts FROM read_parquet('{tmp_path}/*/*.parquet', "
        "hive_partitioning=true) WHERE person_key = 'c'"
    ).fetchall()
    assert got == [("c", date(2024, 3, 5), datetime(2024, 3, 5, 23, 0))]


def test_arrow_input_with_zoned_and_textual_times_is_converted_to_utc(tmp_path):
    zoned = pa.table(
        {
            "person_key": ["p1"],
            "place_key": ["C1"],
            "start_ts": pa.array([datetime(2024, 3, 5, 10, 0, tzinfo=CST)]),
            "end_ts": pa.array([datetime(2024, 3, 5, 11, 0, tzinfo=CST)]),
            "source": [CELL],
            "extra": [1],
        }
    )
    text = pa.table(
        {
            "person_key": ["p2", "p3"],
            "place_key": ["C1", "C1"],
            "start_ts": ["2024-03-05T10:00:00+08:00", "2024-03-05 02:00:00"],
            "end_ts": ["2024-03-05T03:30:00Z", "2024-03-05 03:00:00"],
            "source": [CELL, CELL],
        }
    )
    assert store.write_presence(tmp_path, zoned).written == 1
    report = store.write_presence(tmp_path, pa.RecordBatch.from_pylist(text.to_pylist()))
    assert report.written == 1 and report.refused_by_reason == {store.BAD_TIME: 1}
    assert stored_rows(tmp_path) == [
        ("p1", "C1", datetime(2024, 3, 5, 2), datetime(2024, 3, 5, 3), CELL),
        ("p2", "C1", datetime(2024, 3, 5, 2), datetime(2024, 3, 5, 3, 30), CELL),
    ]


def test_input_that_cannot_be_read_raises_a_clear_error(tmp_path):
    with pytest.raises(store.PresenceInputError, match="missing columns: source"):
        store.write_presence(tmp_path, pa.table({n: ["x"] for n in store.COLUMNS[:4]}))
    with pytest.raises(store.PresenceInputError, match="expected a timestamp"):
        store.write_presence(
            tmp_path,
            pa.table({**{n: ["x"] for n in store.COLUMNS}, "start_ts": [1], "end_ts": [1]}),
        )
    with pytest.raises(store.PresenceInputError, match="3 values"):
        store.write_presence(tmp_path, [("p", "V", T)])
    assert not tmp_path.joinpath("day=2024-03-05").exists()


def write_days(root, days: list[date]) -> None:
    rows = []
    for i, day in enumerate(days):
        at = datetime.combine(day, datetime.min.time()) + timedelta(hours=3)
        rows.extend((f"p{i}-{k}", "V1", at, at, VENUE_SCAN) for k in range(i + 1))
    store.write_presence(root, rows)


def test_read_days_and_globs_list_the_stored_days_in_range(tmp_path):
    write_days(tmp_path, [date(2024, 3, 1), date(2024, 3, 3), date(2024, 3, 4)])
    (tmp_path / "day=not-a-date").mkdir()
    (tmp_path / ".staging-leftover").mkdir()

    days = store.read_days(tmp_path, date(2024, 3, 2), date(2024, 3, 4))
    assert [p.name for p in days] == ["day=2024-03-03", "day=2024-03-04"]
    globs = store.parquet_globs(tmp_path, date(2024, 3, 1), date(2024, 3, 3))
    assert globs == [
        str(tmp_path / "day=2024-03-01" / "*.parquet"),
        str(tmp_path / "day=2024-03-03" / "*.parquet"),
    ]
    assert duckdb.sql("SELECT count(*) FROM read_parquet($g)", params={"g": globs}).fetchall() == [(3,)]
    assert store.parquet_globs(tmp_path, date(2024, 2, 1), date(2024, 2, 28)) == []
    assert store.read_days(tmp_path / "absent", date.min, date.max) == []


def test_day_counts_report_empty_days_as_zero(tmp_path):
    assert store.day_counts(tmp_path) == {}
    write_days(tmp_path, [date(2024, 3, 1), date(2024, 3, 3)])
    assert store.day_counts(tmp_path) == {
        date(2024, 3, 1): 1,
        date(2024, 3, 2): 0,
        date(2024, 3, 3): 2,
    }
    assert store.day_counts(tmp_path, date(2024, 2, 29), date(2024, 3, 1)) == {
        date(2024, 2, 29): 0,
        date(2024, 3, 1): 1,
    }


def test_purge_before_removes_whole_older_days_only(tmp_path):
    write_days(tmp_path, [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)])
    cutoff = store.retention_cutoff(date(2024, 3, 30), 28)
    assert cutoff == date(2024, 3, 2)
    assert store.purge_before(tmp_path, cutoff) == 1
    assert [p.name for p in store.read_days(tmp_path, date.min, date.max)] == [
        "day=2024-03-02",
        "day=2024-03-03",
    ]
    assert sum(store.day_counts(tmp_path).values()) == 2 + 3
    assert store.purge_before(tmp_path, cutoff) == 0
    assert not any(p.name.startswith(".purge-") for p in tmp_path.iterdir())


def test_the_default_root_is_under_var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    assert store.default_root() == tmp_path / "presence"
    store.write_presence(None, [("p1", "V1", T, T, VENUE_SCAN)])
    assert (tmp_path / "presence" / "day=2024-03-05").is_dir()


CSV_TEXT = (
    "\ufeffsource,person_key,place_key,start_ts,end_ts,note\n"
    "cell,p1,C1,2024-03-05T10:00:00+08:00,2024-03-05T11:00:00+08:00,ok\n"
    "venue_scan,p2,V1,2024-03-05 01:00:00Z,2024-03-05 01:00:00Z,z\n"
    "bulk,p3,V2,2024-03-05T09:00:00+0800,2024-03-05T09:30:00.250+0800,compact offset\n"
    "cell,p4,C1,2024-03-05T10:00:00,2024-03-05T11:00:00,no offset\n"
    "cell,p5,C1,2024-03-05T12:00:00+08:00,2024-03-05T11:00:00+08:00,end before start\n"
    "cell,p6,C1,,2024-03-05T11:00:00+08:00,missing\n"
    "cell,p1,C1,2024-03-05T10:00:00+08:00,2024-03-05T11:00:00+08:00,duplicate\n"
    "cell,p7,C1\n"
    "cell,p8,C1,2024-03-06T10:00:00+08:00,2024-03-06T10:20:00+08:00,next day\n"
)


@pytest.mark.parametrize("chunk_bytes", [1 << 20, 128])  # one block, and many small blocks
def test_csv_times_with_offsets_are_stored_in_utc_and_bad_rows_counted(tmp_path, chunk_bytes):
    path = tmp_path / "upload.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    root = tmp_path / "store"
    report = store.load_csv(root, path, chunk_bytes=chunk_bytes)

    assert report.written == 4
    assert report.duplicates == 1
    assert report.refused_by_reason == {
        store.BAD_TIME: 1,
        store.END_BEFORE_START: 1,
        store.MISSING_VALUE: 1,
        store.MALFORMED_ROW: 1,
    }
    assert report.received == 9
    assert [r for r, _ in report.examples] == [4, 5, 6]  # data rows, counted from 1
    assert report.days == [date(2024, 3, 5), date(2024, 3, 6)]
    assert stored_rows(root) == [
        ("p1", "C1", datetime(2024, 3, 5, 2), datetime(2024, 3, 5, 3), CELL),
        ("p2", "V1", datetime(2024, 3, 5, 1), datetime(2024, 3, 5, 1), VENUE_SCAN),
        ("p3", "V2", datetime(2024, 3, 5, 1), datetime(2024, 3, 5, 1, 30, 0, 250000), BULK),
        ("p8", "C1", datetime(2024, 3, 6, 2), datetime(2024, 3, 6, 2, 20), CELL),
    ]
    # loading the same file again adds nothing
    again = store.load_csv(root, path, chunk_bytes=chunk_bytes)
    assert again.written == 0 and again.duplicates == 5


def test_csv_without_the_columns_is_refused_whole(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("person_key,place,start_ts,end_ts,source\np,V,x,y,cell\n", encoding="utf-8")
    with pytest.raises(store.PresenceInputError, match="missing columns: place_key"):
        store.load_csv(tmp_path / "store", path)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(store.PresenceInputError, match="empty"):
        store.load_csv(tmp_path / "store", empty)
    assert not (tmp_path / "store").exists()


def test_parquet_bulk_file_is_loaded_in_chunks(tmp_path):
    start = [datetime(2024, 3, 5, 10, m, tzinfo=CST) for m in range(10)]
    table = pa.table(
        {
            "person_key": [f"p{i}" for i in range(10)],
            "place_key": ["V1"] * 10,
            "start_ts": pa.array(start, pa.timestamp("ms", tz="Asia/Shanghai")),
            "end_ts": pa.array(start, pa.timestamp("ms", tz="Asia/Shanghai")),
            "source": [VENUE_SCAN] * 9 + ["gps"],
        }
    )
    path = tmp_path / "bulk.parquet"
    pq.write_table(table, path)
    report = store.load_parquet(tmp_path / "store", path, chunk_rows=3)
    assert report.written == 9
    assert report.refused_by_reason == {store.UNKNOWN_SOURCE: 1}
    assert report.examples == [(10, store.UNKNOWN_SOURCE)]
    rows = stored_rows(tmp_path / "store")
    assert rows[0][2] == datetime(2024, 3, 5, 2, 0)
    assert len(list((tmp_path / "store").glob("day=*/*.parquet"))) == 3  # one file per chunk
