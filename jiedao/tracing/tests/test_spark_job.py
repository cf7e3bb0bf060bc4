"""The cluster job (spark_job.py) run as a cluster runs it: the real `spark-submit` from the venv, the
jiedao code shipped with --py-files, `local[2]` bound to 127.0.0.1. Its output must equal DuckDB's rows
from engine.trace on the same store, and the planted truth."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jiedao.tracing import spark_job, synth
from jiedao.tracing.engine import trace
from jiedao.tracing.rules import Rules

REPO = Path(__file__).resolve().parents[3]
JOB = REPO / "jiedao" / "tracing" / "spark_job.py"
RULES = {
    "lookback_days": 4,
    "secondary": True,
    "sources": {
        "venue_scan": {"kind": "scan", "window_minutes": 15},
        "cell": {"kind": "overlap", "min_overlap_minutes": 15},
        "bulk": {"kind": "overlap", "min_overlap_minutes": 15},
    },
}


def spark_submit() -> str:
    found = Path(sys.executable).with_name("spark-submit")
    if not found.exists():
        pytest.skip("spark-submit is not in the venv")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        pytest.skip("Java is not installed: Spark tests skipped")
    return str(found)


def package(dest: Path) -> Path:
    """jiedao's tracing modules as a zip for --py-files, as docs/tracing-cluster.md builds it."""
    path = dest / "jiedao.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("jiedao/__init__.py", "")
        for module in sorted((REPO / "jiedao" / "tracing").glob("*.py")):
            zf.write(module, f"jiedao/tracing/{module.name}")
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.Truth]:
    root = tmp_path_factory.mktemp("presence")
    truth = synth.generate(
        root, persons=400, venues=40, cells=8, days=8, start_day=date(2026, 3, 2), seed=11,
        index_cases=3, busy_scans=300,
    )  # fmt: skip
    return root, truth


def write_inputs(tmp: Path, truth: synth.Truth, extra: list[str] | None = None) -> tuple[Path, Path]:
    cases = tmp / "cases.csv"
    with cases.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["person_key", "onset"])
        for key in truth.index_keys:
            # onsets with a +08:00 offset: the job converts them to UTC as `jiedao trace` does
            writer.writerow(
                [
                    key,
                    truth.onsets[key]
                    .replace(tzinfo=UTC)
                    .astimezone(timezone(timedelta(hours=8)))
                    .isoformat(),
                ]
            )
        for key in extra or []:
            writer.writerow([key, "2026-03-08T09:00:00+08:00"])
    rules = tmp / "rules.json"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    return cases, rules


def submit(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    command = [
        spark_submit(), "--master", "local[2]",
        "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
        "--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=4",
        "--py-files", str(package(tmp)), str(JOB), *args,
    ]  # fmt: skip
    return subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True, timeout=600)


def rows_of(table: list[dict]) -> list[tuple]:
    return sorted(
        (r["index_key"], r["contact_key"], r["place_key"], r["overlap_start"], r["overlap_end"],
         float(r["minutes"]), r["source"], int(r["degree"]), r["via_key"] or None)
        for r in table
    )  # fmt: skip


@pytest.mark.spark
def test_spark_submit_equals_duckdb(tmp_path: Path, store: tuple[Path, synth.Truth]) -> None:
    root, truth = store
    missing = "P999999999"  # an index case with no presence data: reported, not an error
    cases, rules = write_inputs(tmp_path, truth, extra=[missing])
    out = tmp_path / "contacts"
    proc = submit(tmp_path, "--presence", root.as_uri(), "--cases", str(cases), "--rules", str(rules),
                  "--output", out.as_uri(), "--report", str(tmp_path / "report.json"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads((tmp_path / "report.json").read_text())

    onsets = [(k, truth.onsets[k]) for k in truth.index_keys] + [(missing, datetime(2026, 3, 8, 1, 0))]
    expected = trace(root, onsets, Rules.from_dict(RULES), engine="duckdb")
    got = rows_of(pq.read_table(out).to_pylist())
    assert got == rows_of([r._asdict() for r in expected.rows])
    assert len(got) == report["rows"] > 0

    # and both equal the planted truth
    assert {(r[0], r[1]) for r in got if r[7] == 1} == truth.close_pairs()
    assert {(r[0], r[1]) for r in got if r[7] == 2} == truth.secondary_pairs()
    assert report["close_pairs"] == len(truth.close_pairs())
    assert report["secondary_pairs"] == len(truth.secondary_pairs())
    assert report["records_scanned"] == expected.records_scanned
    assert report["index_without_data"] == [missing]
    assert report["days_read"] == [d.isoformat() for d in expected.days_read]


@pytest.mark.spark
def test_spark_submit_csv_close_only(tmp_path: Path, store: tuple[Path, synth.Truth]) -> None:
    root, truth = store
    cases, rules = write_inputs(tmp_path, truth)
    out = tmp_path / "contacts-csv"
    proc = submit(tmp_path, "--presence", str(root), "--cases", str(cases), "--rules", str(rules),
                  "--no-secondary", "--lookback-days", "3", "--format", "csv", "--output", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    onsets = [(k, truth.onsets[k]) for k in truth.index_keys]
    expected = trace(root, onsets, Rules.from_dict(RULES | {"lookback_days": 3, "secondary": False}))
    files = sorted(out.glob("part-*.csv"))
    assert len(files) == 1
    with files[0].open(encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    for row in table:
        row["overlap_start"] = datetime.fromisoformat(row["overlap_start"].removesuffix("Z"))
        row["overlap_end"] = datetime.fromisoformat(row["overlap_end"].removesuffix("Z"))
    assert rows_of(table) == rows_of([r._asdict() for r in expected.rows])
    assert {int(r["degree"]) for r in table} == {1}
    # a shorter look-back loses the earliest planted contacts
    assert {(r["index_key"], r["contact_key"]) for r in table} < truth.close_pairs()


def test_bad_cases_file_is_refused_before_spark_starts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cases = tmp_path / "cases.csv"
    cases.write_text("person_key,onset\nP1,2026-03-08T09:00\n", encoding="utf-8")
    code = spark_job.main(
        ["--presence", str(tmp_path), "--cases", str(cases), "--output", str(tmp_path / "o")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "offset" in err
    assert not (tmp_path / "o").exists()
