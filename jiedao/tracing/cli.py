"""`jiedao trace`: close and secondary contacts of index cases from the presence store, on DuckDB (the
default) or on a local Spark, written as CSV with their evidence."""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jiedao.tracing.engine import TraceResult, trace
from jiedao.tracing.rules import CLOSE, COMPANION, DEFAULT_RULES, SECONDARY, Rules, RulesError

FIELDS = ("index_key", "contact_key", "place_key", "overlap_start", "overlap_end", "minutes", "source",
          "degree", "via_key", "relation")  # fmt: skip


class CaseError(ValueError):
    """An index case that cannot be read (the message says which and why)."""


def _when(raw: str, where: str) -> datetime:
    try:
        at = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CaseError(f"{where}: {raw!r} is not an ISO 8601 time")
    if at.tzinfo is None:
        raise CaseError(f"{where}: {raw!r} needs its UTC offset (e.g. +08:00)")
    return at.astimezone(UTC).replace(tzinfo=None)


def parse_cases(values: list[str], file: str | None = None) -> list[tuple[str, datetime]]:
    """`KEY@2026-11-29T10:00+08:00` arguments and/or a CSV file with columns person_key, onset."""
    cases: list[tuple[str, datetime]] = []
    for value in values:
        key, sep, when = value.partition("@")
        if not sep or not key.strip():
            raise CaseError(f"--case {value!r}: write it as PERSON_KEY@ONSET (ISO 8601 with offset)")
        cases.append((key.strip(), _when(when, f"--case {key}")))
    if file:
        with open(file, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = {"person_key", "onset"} - set(reader.fieldnames or [])
            if missing:
                raise CaseError(f"{file}: missing column(s) {', '.join(sorted(missing))}")
            for n, row in enumerate(reader, start=2):
                key = (row.get("person_key") or "").strip()
                if not key:
                    raise CaseError(f"{file} row {n}: person_key is empty")
                cases.append((key, _when(row.get("onset") or "", f"{file} row {n}")))
    if not cases:
        raise CaseError("give at least one index case (--case or --cases-file)")
    return cases


def load_rules(
    path: str | None, lookback_days: int | None, secondary: bool, companions: bool = False
) -> Rules:
    data: dict[str, Any] = DEFAULT_RULES.to_dict()
    if path:
        text = Path(path).read_text(encoding="utf-8")
        if path.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    if lookback_days is not None:
        data["lookback_days"] = lookback_days
    if not secondary:
        data["secondary"] = False
    rules = Rules.from_dict(data)
    return rules.with_companions() if companions else rules


def local_spark(master: str = "local[2]") -> Any:
    """A Spark session on this machine that binds to 127.0.0.1 only (no UI)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return (
        SparkSession.builder.master(master)
        .appName("jiedao-trace")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def write_csv(result: TraceResult, out: Any) -> None:
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for r in result.rows:
        writer.writerow([r.index_key, r.contact_key, r.place_key, r.overlap_start.isoformat() + "Z",
                         r.overlap_end.isoformat() + "Z", f"{r.minutes:g}", r.source, r.degree, r.via_key or "", r.relation])  # fmt: skip


def summary(result: TraceResult) -> str:
    close, secondary = len(result.related(CLOSE)), len(result.related(SECONDARY))
    companions = len(result.related(COMPANION))
    lines = [
        f"{result.engine}: {close} close, {secondary} secondary contact and {companions} companion pairs "
        f"({len(result.rows)} rows with evidence) from {result.records_scanned:,} presence records "
        f"on {len(result.days_read)} days in {result.seconds:.1f} s"
    ]
    if result.index_without_data:
        lines.append(f"no presence data in their window: {', '.join(result.index_without_data)}")
    if result.empty_days:
        lines.append(f"days with no records at all: {', '.join(d.isoformat() for d in result.empty_days)}")
    if result.bad_records:
        lines.append(f"records with the end before the start (never paired): {result.bad_records:,}")
    return "\n".join(lines)


def trace_cli(args: Any) -> int:
    from jiedao.tracing.store import default_root

    try:
        cases = parse_cases(args.case or [], args.cases_file)
        rules = load_rules(args.rules, args.lookback_days, not args.no_secondary, args.companions)
    except (CaseError, RulesError, OSError, ValueError) as exc:
        print(f"jiedao trace: {exc}", file=sys.stderr)
        return 2
    root = Path(args.root) if args.root else default_root()
    spark = local_spark(args.spark_master) if args.engine == "spark" else None
    try:
        result = trace(root, cases, rules, engine=args.engine, spark=spark)
    finally:
        if spark is not None:
            spark.stop()
    if args.output and args.output != "-":
        with open(args.output, "w", newline="", encoding="utf-8") as fh:
            write_csv(result, fh)
    else:
        write_csv(result, sys.stdout)
    print(summary(result), file=sys.stderr)
    return 0


def presence_cli(args: Any) -> int:
    """`jiedao presence load FILE` and `jiedao presence days`."""
    from datetime import timedelta

    from jiedao.tracing import store
    from jiedao.tracing.actions.presence import do_load_presence_file

    root = Path(args.root) if args.root else store.default_root()
    if args.presence_cmd == "days":
        if args.last < 1:
            print("jiedao presence days: --last is a number of days, 1 or more", file=sys.stderr)
            return 2
        from django.utils import timezone

        until = timezone.localdate()
        for day, n in sorted(store.day_counts(root, until - timedelta(days=args.last - 1), until).items()):
            print(f"{day.isoformat()}  {n:>12,}{'  (no records)' if not n else ''}")
        return 0
    try:
        report = do_load_presence_file(actor=None, path=args.file, root=root)
    except (store.PresenceInputError, OSError) as exc:
        print(f"jiedao presence load: {exc}", file=sys.stderr)
        return 2
    print(f"{report.written:,} written, {report.duplicates:,} duplicates skipped, {report.refused:,} refused")
    for reason, n in report.refused_by_reason.items():
        print(f"  refused, {reason}: {n:,}")
    for row, reason in report.examples[:10]:
        print(f"  e.g. row {row}: {reason}")
    if report.days:
        print(f"days: {report.days[0].isoformat()} .. {report.days[-1].isoformat()}")
    return 0 if report.written or not report.refused else 1
