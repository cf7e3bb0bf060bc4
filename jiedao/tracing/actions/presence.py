"""Loading an upstream bulk file (CSV or Parquet) of presence records into the store, on record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jiedao.core import audit
from jiedao.tracing import store


def do_load_presence_file(
    *, actor: Any, path: str | Path, root: str | Path | None = None
) -> store.WriteReport:
    """Validate and add the file's records (`.csv` or `.parquet`); every refused row is counted by
    reason, duplicates are skipped. Raises store.PresenceInputError for an unreadable file."""
    file = Path(path)
    load = store.load_parquet if file.suffix.lower() in (".parquet", ".parq") else store.load_csv
    report = load(root, file)
    audit.record(
        actor=actor,
        action="tracing.load_presence",
        object_type="tracing.presence",
        changes={
            "file": file.name,
            "written": report.written,
            "duplicates": report.duplicates,
            "refused": report.refused_by_reason,
            "days": [d.isoformat() for d in report.days],
        },
    )
    return report


def do_add_presence_records(
    *, actor: Any, rows: list[dict[str, Any]], source_label: str, root: str | Path | None = None
) -> store.WriteReport:
    """Add presence records given as rows (an upstream feed, the demo), validated like a file, on record."""
    report = store.write_presence(root, rows)
    audit.record(
        actor=actor,
        action="tracing.load_presence",
        object_type="tracing.presence",
        changes={
            "file": source_label,
            "written": report.written,
            "duplicates": report.duplicates,
            "refused": report.refused_by_reason,
            "days": [d.isoformat() for d in report.days],
        },
    )
    return report
