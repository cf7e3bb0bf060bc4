"""The tracing job for a Spark cluster: `spark-submit jiedao/tracing/spark_job.py --presence ROOT
--cases cases.csv --output OUT`. It runs the same query text as `engine.trace` (query.build_trace_sql,
Spark dialect) over a presence store on any Hadoop path (hdfs://, s3a://, file://), reads only the days
the look-back windows need, writes the contacts with the cluster's executors (nothing is collected on
the driver but the per-day counts) and prints a JSON report. docs/tracing-cluster.md tells how to run it.

    spark-submit --master yarn --py-files jiedao.zip jiedao/tracing/spark_job.py \\
        --presence s3a://bucket/presence --cases cases.csv --rules rules.yaml \\
        --lookback-days 4 --output s3a://bucket/traces/run-42

The index-cases CSV (`person_key,onset`, onsets ISO 8601 with their offset) and the rules file (YAML or
JSON, as `jiedao trace --rules`) are read on the driver: local files (with `--files` in cluster mode)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date, datetime
from typing import Any

from jiedao.tracing import engine
from jiedao.tracing.cli import CaseError, load_rules, parse_cases
from jiedao.tracing.query import build_coverage_sql, build_stats_sql, build_trace_sql
from jiedao.tracing.rules import Rules, RulesError
from jiedao.tracing.schema import PARTITION

FORMATS = ("parquet", "csv")
# The output columns: engine.TraceRow's, times as naive UTC timestamps like the store's.
OUTPUT_SQL = (
    "SELECT index_key, contact_key, place_key, "
    "CAST(timestamp_micros(overlap_start_us) AS TIMESTAMP_NTZ) AS overlap_start, "
    "CAST(timestamp_micros(overlap_end_us) AS TIMESTAMP_NTZ) AS overlap_end, "
    "CAST(minutes AS DOUBLE) AS minutes, source, CAST(degree AS INT) AS degree, via_key FROM contacts"
)
OUTPUT_SCHEMA = (
    "index_key string, contact_key string, place_key string, overlap_start timestamp_ntz, "
    "overlap_end timestamp_ntz, minutes double, source string, degree int, via_key string"
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spark_job.py",
        description="Close and secondary contacts from a Parquet presence store on Spark.",
    )
    p.add_argument(
        "--presence",
        required=True,
        help="the store's root: <root>/day=YYYY-MM-DD/*.parquet (any Hadoop path)",
    )
    p.add_argument(
        "--cases", required=True, help="index cases: a CSV with person_key,onset (onset ISO 8601 with offset)"
    )
    p.add_argument(
        "--rules",
        help="a YAML or JSON rules file (jiedao.tracing.rules.Rules.from_dict); default rules if left out",
    )
    p.add_argument("--lookback-days", type=int, help="overrides the rules' lookback_days")
    p.add_argument("--no-secondary", action="store_true", help="close contacts only")
    p.add_argument("--output", required=True, help="where the contacts go (a directory on any Hadoop path)")
    p.add_argument("--format", choices=FORMATS, default="parquet")
    p.add_argument("--mode", choices=("errorifexists", "overwrite"), default="errorifexists")
    p.add_argument(
        "--output-files",
        type=int,
        default=1,
        help="files to write, after a final shuffle (0: one per partition of the query)",
    )
    p.add_argument("--report", help="also write the JSON report to this local file")
    return p  # fmt: skip


def existing_days(spark: Any, root: str, days: list[date]) -> list[tuple[date, str]]:
    """(day, path) of the wanted days that hold at least one Parquet file, checked through Hadoop's
    FileSystem so that hdfs://, s3a:// and local paths behave alike (engine._day_dirs for any path)."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    base = jvm.org.apache.hadoop.fs.Path(root)
    fs = base.getFileSystem(conf)
    found = []
    for day in days:
        path = f"{root.rstrip('/')}/{PARTITION}={day.isoformat()}"
        matches = fs.globStatus(jvm.org.apache.hadoop.fs.Path(path + "/*.parquet"))
        if matches is not None and len(matches) > 0:
            found.append((day, path))
    return found


def run(
    spark: Any,
    root: str,
    index_cases: list[tuple[str, datetime]],
    rules: Rules,
    output: str,
    *,
    fmt: str = "parquet",
    mode: str = "errorifexists",
    output_files: int = 1,
) -> dict[str, Any]:
    """Trace `index_cases` over the store at `root`, write the contacts to `output` and return the
    report (the counts engine.TraceResult carries, without the rows)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(FORMATS)}")
    started = time.perf_counter()
    cases = engine.normalise_cases(index_cases)
    wanted, inside = engine.windows(cases, rules)
    found = existing_days(spark, root, wanted)
    session = spark.newSession()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    report: dict[str, Any] = {
        "presence": root,
        "output": output,
        "format": fmt,
        "index_cases": len(cases),
        "rules": rules.to_dict(),
        "days_read": [d.isoformat() for d, _ in found],
    }
    if cases and found:
        frame = session.read.option("basePath", root).parquet(*[p for _, p in found])
        frame.createOrReplaceTempView("presence")
        session.createDataFrame(
            [(k, engine.to_us(o)) for k, o in cases], "person_key string, onset_us bigint"
        ).selectExpr("person_key", "timestamp_micros(onset_us) AS onset_ts").createOrReplaceTempView(
            "index_cases"
        )
        session.sql(build_trace_sql(rules, "spark")).createOrReplaceTempView("contacts")
        contacts = session.sql(OUTPUT_SQL)
        coverage = [tuple(r) for r in session.sql(build_coverage_sql(rules, "spark")).collect()]
        per_day = [tuple(r) for r in session.sql(build_stats_sql(rules, PARTITION)).collect()]
    else:
        contacts = session.createDataFrame([], OUTPUT_SCHEMA)
        coverage = [(k, 0) for k, _ in cases]
        per_day = []
    # written once, then counted from the written files (the query is not run twice)
    # repartition, not coalesce: coalesce(1) would pull the query's last stage into a single task
    out = contacts.repartition(output_files) if output_files > 0 else contacts
    writer = out.write.mode(mode)
    if fmt == "csv":
        writer.option("header", "true").option("timestampNTZFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").csv(
            output
        )
        written = (
            session.read.option("header", "true")
            .schema(OUTPUT_SCHEMA)
            .option("timestampNTZFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
            .csv(output)
        )
    else:
        writer.parquet(output)
        written = session.read.parquet(output)
    counts = written.selectExpr(
        "count(*) AS n_rows",
        "count(DISTINCT CASE WHEN degree = 1 THEN concat(index_key, '|', contact_key) END) AS close_pairs",
        "count(DISTINCT CASE WHEN degree = 2 THEN concat(index_key, '|', contact_key) END) AS secondary_pairs",
    ).collect()[0]
    with_rows = {date.fromisoformat(str(day)) for day, n, _, _ in per_day if n}
    report |= {
        "rows": int(counts["n_rows"]),
        "close_pairs": int(counts["close_pairs"]),
        "secondary_pairs": int(counts["secondary_pairs"]),
        "records_scanned": sum(int(r[1]) for r in per_day),
        "bad_records": sum(int(r[2] or 0) for r in per_day),
        "unruled_records": sum(int(r[3] or 0) for r in per_day),
        "index_without_data": sorted(str(k) for k, n in coverage if not n),
        "empty_days": [d.isoformat() for d in inside if d not in with_rows],
        "seconds": round(time.perf_counter() - started, 3),
    }
    return report


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        cases = parse_cases([], args.cases)
        rules = load_rules(args.rules, args.lookback_days, not args.no_secondary)
    except (CaseError, RulesError, OSError, ValueError) as exc:
        print(f"spark_job: {exc}", file=sys.stderr)
        return 2
    from pyspark.sql import SparkSession

    # the master, memory and the rest come from spark-submit; only the time zone is the job's own
    spark = SparkSession.builder.appName(os.environ.get("JIEDAO_SPARK_APP", "jiedao-trace")).getOrCreate()
    try:
        report = run(
            spark, args.presence, cases, rules, args.output,
            fmt=args.format, mode=args.mode, output_files=args.output_files,
        )  # fmt: skip
    finally:
        spark.stop()
    text = json.dumps(report, ensure_ascii=False, indent=1)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
