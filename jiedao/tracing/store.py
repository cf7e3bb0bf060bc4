"""The presence store: Parquet files partitioned by day under one root directory (see schema.py).

Every writer goes through `write_presence`, which validates each row, refuses bad ones by reason,
skips duplicates (within the batch and against the days already stored) and adds new files; it never
rewrites a stored file. Readers get the day directories they need from `read_days`/`parquet_globs`.
Retention is applied with `purge_before`, which removes whole day partitions."""

from __future__ import annotations

import csv
import os
import shutil
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from jiedao.tracing.schema import PARTITION, PRESENCE_COLUMNS, SOURCES, VENUE_SCAN

COLUMNS: tuple[str, ...] = tuple(name for name, _ in PRESENCE_COLUMNS)
ARROW_SCHEMA = pa.schema(
    [
        ("person_key", pa.string()),
        ("place_key", pa.string()),
        ("start_ts", pa.timestamp("us")),
        ("end_ts", pa.timestamp("us")),
        ("source", pa.string()),
    ]
)
MAX_KEY_LENGTH = 128  # a blind index is 64 hex chars; upstream pseudonyms are shorter than this
# Engines read a partition by the day a stay starts, so a stay may reach at most one day past it;
# the engines read one extra day before a look-back window for this reason.
MAX_STAY = timedelta(hours=24)
CHUNK_ROWS = 1_000_000
MAX_EXAMPLES = 20

# Refusal reasons (keys of WriteReport.refused_by_reason).
MISSING_VALUE = "missing_value"
BAD_TIME = "bad_time"  # unparsable, or an ISO 8601 string without a UTC offset
EMPTY_KEY = "empty_key"
OVERSIZED_KEY = "oversized_key"
UNKNOWN_SOURCE = "unknown_source"
UNKNOWN_PLACE = "unknown_place"  # only when the caller passes known_places
END_BEFORE_START = "end_before_start"
SCAN_WITH_DURATION = "scan_with_duration"  # a venue scan is a moment: start_ts == end_ts
STAY_TOO_LONG = "stay_too_long"  # longer than MAX_STAY
MALFORMED_ROW = "malformed_row"  # CSV line with the wrong number of fields


class PresenceInputError(ValueError):
    """The input as a whole cannot be read (missing columns, wrong types, unreadable file)."""


@dataclass
class WriteReport:
    """What one write (or one bulk load) did. Every input row is either written, refused (by reason)
    or a duplicate: received == written + refused + duplicates."""

    written: int = 0
    refused_by_reason: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    days: list[date] = field(default_factory=list)  # days that received rows, sorted
    examples: list[tuple[int, str]] = field(default_factory=list)  # (1-based input row, reason)

    @property
    def refused(self) -> int:
        return sum(self.refused_by_reason.values())

    @property
    def received(self) -> int:
        return self.written + self.refused + self.duplicates

    def add(self, other: WriteReport, row_offset: int = 0) -> None:
        self.written += other.written
        self.duplicates += other.duplicates
        for reason, n in other.refused_by_reason.items():
            self.refused_by_reason[reason] = self.refused_by_reason.get(reason, 0) + n
        self.days = sorted(set(self.days) | set(other.days))
        room = MAX_EXAMPLES - len(self.examples)
        if room > 0:
            self.examples.extend((row + row_offset, reason) for row, reason in other.examples[:room])


def default_root() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / "presence"


def _root(root: str | Path | None) -> Path:
    return default_root() if root is None else Path(root)


def day_dir(root: str | Path | None, day: date) -> Path:
    return _root(root) / f"{PARTITION}={day.isoformat()}"


def _stored_days(root: Path) -> dict[date, Path]:
    days: dict[date, Path] = {}
    if not root.is_dir():
        return days
    prefix = f"{PARTITION}="
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.startswith(prefix):
            try:
                days[date.fromisoformat(entry.name[len(prefix) :])] = entry
            except ValueError:
                continue
    return days


def _day_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.parquet") if p.is_file())


# ---------------------------------------------------------------------------------------- reading


def read_days(root: str | Path | None, since: date, until: date) -> list[Path]:
    """Day directories that exist with since <= day <= until (both inclusive), oldest first."""
    stored = _stored_days(_root(root))
    return [stored[d] for d in sorted(stored) if since <= d <= until]


def parquet_globs(root: str | Path | None, since: date, until: date) -> list[str]:
    """`<day dir>/*.parquet` for each stored day in the range that holds at least one file: pass the
    list to DuckDB's read_parquet([...]) or Spark's read.parquet(*...). Empty when there is no data
    (read_parquet refuses an empty list: the caller reports "no presence data")."""
    return [str(d / "*.parquet") for d in read_days(root, since, until) if _day_files(d)]


def day_counts(
    root: str | Path | None, since: date | None = None, until: date | None = None
) -> dict[date, int]:
    """Rows per day from the Parquet footers (no scan). Every day of the range is present, 0 when
    empty or missing; without bounds, the range is the first to the last stored day."""
    stored = _stored_days(_root(root))
    if since is None or until is None:
        if not stored:
            return {}
        since = since or min(stored)
        until = until or max(stored)
    counts: dict[date, int] = {}
    day = since
    while day <= until:
        directory = stored.get(day)
        counts[day] = (
            sum(pq.ParquetFile(f).metadata.num_rows for f in _day_files(directory)) if directory else 0
        )
        day += timedelta(days=1)
    return counts


# ---------------------------------------------------------------------------------------- retention


def retention_cutoff(today: date, retention_days: int) -> date:
    """First day kept under a retention of `retention_days` days (pass it to purge_before)."""
    return today - timedelta(days=retention_days)


def purge_before(root: str | Path | None, day: date) -> int:
    """Remove every day partition strictly older than `day`; returns the number of days removed.
    Each directory is first renamed out of the store, so a reader sees a day whole or not at all."""
    base = _root(root)
    removed = 0
    for stored_day, directory in sorted(_stored_days(base).items()):
        if stored_day >= day:
            continue
        trash = base / f".purge-{uuid.uuid4().hex}"
        os.replace(directory, trash)
        shutil.rmtree(trash)
        removed += 1
    return removed


# ---------------------------------------------------------------------------------------- writing


# Refusal reasons as small integer codes (0 = valid), so validation stays vectorised at any size.
_REASONS = (
    MISSING_VALUE,
    BAD_TIME,
    EMPTY_KEY,
    OVERSIZED_KEY,
    UNKNOWN_SOURCE,
    UNKNOWN_PLACE,
    END_BEFORE_START,
    SCAN_WITH_DURATION,
    STAY_TOO_LONG,
)
_CODE = {reason: i + 1 for i, reason in enumerate(_REASONS)}


def _utc_naive(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value  # the store's contract: naive times are UTC
    return value.astimezone(UTC).replace(tzinfo=None)


def _parse_time(value: Any) -> tuple[datetime | None, int]:
    """One Python value -> (UTC naive datetime, refusal code)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, _CODE[MISSING_VALUE]
    if isinstance(value, datetime):
        return _utc_naive(value), 0
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None, _CODE[BAD_TIME]
        if parsed.tzinfo is None:
            return None, _CODE[BAD_TIME]  # a string from outside must say which zone it is in
        return _utc_naive(parsed), 0
    return None, _CODE[BAD_TIME]


def _rows_to_table(rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> tuple[pa.Table, pa.Array]:
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    codes: list[int] = []
    for row in rows:
        if isinstance(row, Mapping):
            values = [row.get(name) for name in COLUMNS]
        else:
            values = list(row)
            if len(values) != len(COLUMNS):
                raise PresenceInputError(f"a row has {len(values)} values, expected {len(COLUMNS)}")
        start, start_code = _parse_time(values[2])
        end, end_code = _parse_time(values[3])
        codes.append(start_code or end_code)
        for name, value in zip(COLUMNS, (values[0], values[1], start, end, values[4]), strict=True):
            if name in ("person_key", "place_key", "source") and value is not None:
                value = str(value)
            columns[name].append(value)
    table = pa.table(columns, schema=ARROW_SCHEMA)
    return table, pa.array(codes, type=pa.int8())


_OFFSET = r"(Z|z|[+-]\d{2}(:?\d{2})?)\s*$"


def _times_from_strings(table: pa.Table) -> tuple[pa.Table, pa.Array]:
    """Parse start_ts/end_ts given as ISO 8601 strings with a UTC offset (vectorised, in DuckDB)."""
    exprs, code_exprs = [], []
    for col in ("start_ts", "end_ts"):
        good = f"regexp_matches({col}, '{_OFFSET}') AND try_cast({col} AS TIMESTAMPTZ) IS NOT NULL"
        exprs.append(f"CASE WHEN {good} THEN try_cast({col} AS TIMESTAMPTZ)::TIMESTAMP END AS {col}")
        code_exprs.append(
            f"CASE WHEN {col} IS NULL OR trim({col}) = '' THEN {_CODE[MISSING_VALUE]} "
            f"WHEN NOT ({good}) THEN {_CODE[BAD_TIME]} ELSE 0 END"
        )
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.register("raw", table)
        parsed = con.sql(
            f"SELECT person_key, place_key, {', '.join(exprs)}, source, "
            f"CAST(CASE WHEN {code_exprs[0]} <> 0 THEN {code_exprs[0]} ELSE {code_exprs[1]} END "
            "AS TINYINT) AS code FROM raw"
        ).to_arrow_table()
    finally:
        con.close()
    codes = parsed.column("code").combine_chunks().cast(pa.int8())
    return parsed.select(list(COLUMNS)).cast(ARROW_SCHEMA), codes


def _normalise_time_column(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        if column.type.tz is not None:
            # Arrow keeps tz-aware values as UTC instants: dropping the zone leaves UTC wall time.
            column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
            column = column.cast(pa.timestamp(column.type.unit))
        return column.cast(pa.timestamp("us"), safe=False)
    raise PresenceInputError(f"column {name} has type {column.type}, expected a timestamp")


def _is_text(type_: pa.DataType) -> bool:
    return bool(pa.types.is_string(type_) or pa.types.is_large_string(type_))


def _arrow_to_table(data: pa.Table | pa.RecordBatch) -> tuple[pa.Table, pa.Array]:
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    missing = [name for name in COLUMNS if name not in table.column_names]
    if missing:
        raise PresenceInputError(f"missing columns: {', '.join(missing)}")
    table = table.select(list(COLUMNS))
    for name in ("person_key", "place_key", "source"):
        if not _is_text(table.column(name).type):
            raise PresenceInputError(f"column {name} has type {table.column(name).type}, expected text")
    text_times = [_is_text(table.column(name).type) for name in ("start_ts", "end_ts")]
    if all(text_times):
        return _times_from_strings(
            pa.table([table.column(n).cast(pa.string()) for n in COLUMNS], names=list(COLUMNS))
        )
    if any(text_times):
        raise PresenceInputError("start_ts and end_ts must both be text or both timestamps")
    columns = [
        _normalise_time_column(table.column(name), name)
        if name in ("start_ts", "end_ts")
        else table.column(name).cast(pa.string())
        for name in COLUMNS
    ]
    return pa.table(columns, schema=ARROW_SCHEMA), pa.nulls(table.num_rows, pa.int8()).fill_null(0)


def _refusal_codes(table: pa.Table, codes: pa.Array, known_places: Collection[str] | None) -> pa.Array:
    """The first refusal code of each row (0 when the row is valid), vectorised."""
    person, place, start, end, source = (table.column(n).combine_chunks() for n in COLUMNS)

    def flag(expr: Any) -> Any:
        return pc.fill_null(expr, False)

    def mark(mask: Any, reason: str) -> None:
        nonlocal codes
        hit = pc.and_(mask, pc.equal(codes, 0))
        codes = pc.if_else(hit, pa.scalar(_CODE[reason], pa.int8()), codes)

    any_null = flag(person.is_null())
    for column in (place, start, end, source):
        any_null = pc.or_(any_null, column.is_null())
    mark(any_null, MISSING_VALUE)
    for key in (person, place):
        mark(flag(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(key)), 0)), EMPTY_KEY)
        mark(flag(pc.greater(pc.utf8_length(key), MAX_KEY_LENGTH)), OVERSIZED_KEY)
    mark(pc.invert(flag(pc.is_in(source, value_set=pa.array(SOURCES)))), UNKNOWN_SOURCE)
    if known_places is not None:
        known = pa.array(sorted(set(known_places)), type=pa.string())
        mark(pc.invert(flag(pc.is_in(place, value_set=known))), UNKNOWN_PLACE)
    mark(flag(pc.less(end, start)), END_BEFORE_START)
    scan = pc.and_(flag(pc.equal(source, VENUE_SCAN)), flag(pc.not_equal(end, start)))
    mark(scan, SCAN_WITH_DURATION)
    max_stay = pa.scalar(MAX_STAY, type=pa.duration("us"))
    mark(flag(pc.greater(pc.subtract(end, start), max_stay)), STAY_TOO_LONG)
    return codes


def _to_table(
    data: pa.Table | pa.RecordBatch | Iterable[Mapping[str, Any] | Sequence[Any]],
) -> tuple[pa.Table, pa.Array]:
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return _arrow_to_table(data)
    return _rows_to_table(data)


def write_presence(
    root: str | Path | None,
    data: pa.Table | pa.RecordBatch | Iterable[Mapping[str, Any] | Sequence[Any]],
    *,
    known_places: Collection[str] | None = None,
) -> WriteReport:
    """Validate `data` (an Arrow table/batch with the presence columns, or rows as mappings or
    5-tuples in column order) and add the good, new rows to the store as new Parquet files.

    Times: Arrow timestamps (tz-aware are converted to UTC; naive are taken as UTC), Python datetimes
    (same rule) or ISO 8601 strings with an offset. Refused rows are counted by reason; rows equal in
    all five columns to another row of the batch or to a stored row of the same day are duplicates."""
    base = _root(root)
    table, time_codes = _to_table(data)
    report = WriteReport()
    if table.num_rows == 0:
        return report
    codes = _refusal_codes(table, time_codes, known_places)
    refused = pc.not_equal(codes, 0)
    if pc.any(refused).as_py():
        counts = pc.value_counts(pc.filter(codes, refused)).to_pylist()
        by_code = {item["values"]: item["counts"] for item in counts}
        report.refused_by_reason = {
            reason: by_code[i + 1] for i, reason in enumerate(_REASONS) if by_code.get(i + 1)
        }
        rows = pc.indices_nonzero(refused).to_pylist()[:MAX_EXAMPLES]
        report.examples = [(i + 1, _REASONS[codes[i].as_py() - 1]) for i in rows]
        table = table.filter(pc.invert(refused))
    if table.num_rows == 0:
        return report

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.register("batch", table)
        batch_days = [
            row[0] for row in con.sql("SELECT DISTINCT CAST(start_ts AS DATE) FROM batch").fetchall()
        ]
        stored = _stored_days(base)
        files = [str(f) for d in batch_days if d in stored for f in _day_files(stored[d])]
        cols = ", ".join(COLUMNS)
        query = f"SELECT DISTINCT {cols} FROM batch"
        if files:
            query = (
                f"SELECT {cols} FROM ({query}) b ANTI JOIN "
                f"(SELECT {cols} FROM read_parquet($files)) s USING ({cols})"
            )
        query = (
            f"SELECT {cols}, CAST(start_ts AS DATE) AS {PARTITION} FROM ({query}) "
            "ORDER BY place_key, start_ts, person_key"
        )
        fresh = con.sql(query, params={"files": files} if files else None).to_arrow_table()
    finally:
        con.close()

    report.duplicates = table.num_rows - fresh.num_rows
    report.written = fresh.num_rows
    if fresh.num_rows:
        report.days = sorted(pc.unique(fresh.column(PARTITION)).to_pylist())
        _add_files(base, fresh)
    return report


def _add_files(base: Path, table: pa.Table) -> None:
    """Write into a hidden staging directory, then move each file into its day directory, so a
    reader never sees a half-written file."""
    base.mkdir(parents=True, exist_ok=True)
    staging = base / f".staging-{uuid.uuid4().hex}"
    try:
        ds.write_dataset(
            table,
            staging,
            format="parquet",
            partitioning=ds.partitioning(pa.schema([(PARTITION, pa.date32())]), flavor="hive"),
            basename_template=f"part-{uuid.uuid4().hex}-{{i}}.parquet",
            existing_data_behavior="error",
            max_rows_per_group=128 * 1024,
            max_rows_per_file=8 * 1024 * 1024,
            max_partitions=4096,
        )
        for directory in staging.iterdir():
            target = base / directory.name
            target.mkdir(exist_ok=True)
            for file in directory.iterdir():
                os.replace(file, target / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ---------------------------------------------------------------------------------------- bulk files


def _csv_header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        try:
            header = next(csv.reader(handle))
        except StopIteration:
            raise PresenceInputError(f"{path.name}: the file is empty") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise PresenceInputError(f"{path.name}: unreadable header ({exc})") from None
    return [name.strip() for name in header]


def _csv_batches(path: Path, chunk_bytes: int, malformed: list[int]) -> Iterator[pa.RecordBatch]:
    header = _csv_header(path)
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise PresenceInputError(f"{path.name}: missing columns: {', '.join(missing)}")
    if len(set(header)) != len(header):
        raise PresenceInputError(f"{path.name}: repeated column names in the header")

    def skip(row: Any) -> str:
        malformed.append(row.number or 0)
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            column_names=header, skip_rows=1, block_size=chunk_bytes, use_threads=False
        ),
        parse_options=pacsv.ParseOptions(invalid_row_handler=skip),
        convert_options=pacsv.ConvertOptions(
            include_columns=list(COLUMNS),
            column_types={name: pa.string() for name in COLUMNS},
            strings_can_be_null=False,
        ),
    )
    yield from reader


def load_csv(
    root: str | Path | None,
    path: str | Path,
    *,
    known_places: Collection[str] | None = None,
    chunk_bytes: int = 64 << 20,
) -> WriteReport:
    """Load a bulk CSV (header = the column names; extra columns ignored; times ISO 8601 with a UTC
    offset, stored in UTC), streamed `chunk_bytes` at a time. Example rows count data rows from 1."""
    file = Path(path)
    report = WriteReport()
    malformed: list[int] = []
    seen = 0
    try:
        for batch in _csv_batches(file, chunk_bytes, malformed):
            part = write_presence(root, batch, known_places=known_places)
            report.add(part, row_offset=seen)
            seen += batch.num_rows
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
        raise PresenceInputError(f"{file.name}: cannot read the file ({exc})") from None
    if malformed:
        report.refused_by_reason[MALFORMED_ROW] = len(malformed)
        report.refused_by_reason = dict(sorted(report.refused_by_reason.items()))
    return report


def load_parquet(
    root: str | Path | None,
    path: str | Path,
    *,
    known_places: Collection[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> WriteReport:
    """Load a bulk Parquet file with the presence columns, `chunk_rows` rows at a time."""
    file = Path(path)
    report = WriteReport()
    try:
        parquet = pq.ParquetFile(file)
    except (pa.ArrowInvalid, OSError) as exc:
        raise PresenceInputError(f"{file.name}: not a readable Parquet file ({exc})") from None
    missing = [name for name in COLUMNS if name not in parquet.schema_arrow.names]
    if missing:
        raise PresenceInputError(f"{file.name}: missing columns: {', '.join(missing)}")
    seen = 0
    for batch in parquet.iter_batches(batch_size=chunk_rows, columns=list(COLUMNS)):
        report.add(write_presence(root, batch, known_places=known_places), row_offset=seen)
        seen += batch.num_rows
    return report
