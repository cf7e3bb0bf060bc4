"""The presence store's one table, as the tracing engines read it: Parquet files partitioned by day
(`<root>/day=YYYY-MM-DD/*.parquet`, Hive style). Every writer (the venue check-in page, cell-signal
imports, bulk files, the synthetic generator) writes these columns; DuckDB and Spark read them alike.

Times are UTC, stored as Parquet timestamps (microseconds, no zone): the engines compare them as they
are. A venue scan is a moment (start_ts == end_ts); the stay a scan stands for comes from the source's
rule at query time, not from the data."""

from __future__ import annotations

PRESENCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("person_key", "VARCHAR"),  # a person: blind-indexed ID number or the upstream's pseudonymous key
    ("place_key", "VARCHAR"),  # a venue code or an 800 m cell ID
    ("start_ts", "TIMESTAMP"),  # UTC
    ("end_ts", "TIMESTAMP"),  # UTC; == start_ts for a venue scan
    ("source", "VARCHAR"),  # one of SOURCES
)
PARTITION = "day"  # DATE of start_ts (UTC): the directory name day=YYYY-MM-DD

VENUE_SCAN = "venue_scan"  # 场所码 check-ins: scan time only
CELL = "cell"  # cell-signal records: an 800 m cell, start and end (时空伴随)
BULK = "bulk"  # stays from an upstream file (start and end)
SOURCES = (VENUE_SCAN, CELL, BULK)
