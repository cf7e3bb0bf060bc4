"""`jiedao trace`: index cases from arguments or a file, the contacts as CSV with their evidence, and a
clear refusal of bad input."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from jiedao.cli import main
from jiedao.tracing import synth


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    root = tmp_path_factory.mktemp("presence")
    truth = synth.generate(root, persons=1_500, venues=200, cells=100, days=8, start_day=date(2022, 6, 1),
                           seed=11, index_cases=2, busy_venues=1, busy_scans=800)  # fmt: skip
    return root, truth


def test_trace_writes_the_planted_contacts_as_csv(
    planted: tuple[Path, Any], tmp_path: Path, capsys: Any
) -> None:
    root, truth = planted
    cases = tmp_path / "cases.csv"
    with cases.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["person_key", "onset"])
        for key in truth.index_keys:
            w.writerow([key, truth.onsets[key].isoformat() + "+00:00"])
    out = tmp_path / "contacts.csv"
    code = main(["trace", "--root", str(root), "--cases-file", str(cases), "--output", str(out),
                 "--lookback-days", str(truth.lookback_days)])  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    close = {(r["index_key"], r["contact_key"], r["place_key"]) for r in rows if r["degree"] == "1"}
    second = {(r["index_key"], r["contact_key"], r["place_key"]) for r in rows if r["degree"] == "2"}
    assert close == truth.close_contacts and second == truth.secondary_contacts
    assert all(r["overlap_start"].endswith("Z") and float(r["minutes"]) >= 0 for r in rows)
    err = capsys.readouterr().err
    assert "close" in err and "secondary" in err


def test_close_contacts_only_and_a_case_with_no_data(
    planted: tuple[Path, Any], tmp_path: Path, capsys: Any
) -> None:
    root, truth = planted
    first = truth.index_keys[0]
    out = tmp_path / "c.csv"
    code = main(["trace", "--root", str(root), "--no-secondary", "-o", str(out),
                 "--case", f"{first}@{truth.onsets[first].isoformat()}+00:00",
                 "--case", "NOBODY@2022-06-05T10:00:00+08:00"])  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert rows and {r["degree"] for r in rows} == {"1"} and {r["index_key"] for r in rows} == {first}
    assert "NOBODY" in capsys.readouterr().err  # reported, not silently dropped


@pytest.mark.parametrize(
    "argv, why",
    [
        (["--case", "P1@2022-06-05T10:00:00"], "UTC offset"),
        (["--case", "P1"], "PERSON_KEY@ONSET"),
        (["--case", "P1@yesterday"], "not an ISO 8601 time"),
        ([], "at least one index case"),
        (["--case", "P1@2022-06-05T10:00:00+08:00", "--lookback-days", "0"], "lookback_days"),
    ],
)
def test_bad_input_is_refused_with_the_reason(tmp_path: Path, capsys: Any, argv: list[str], why: str) -> None:
    assert main(["trace", "--root", str(tmp_path), *argv]) == 2
    assert why in capsys.readouterr().err


def test_companions_flag_labels_cell_rows(planted: tuple[Path, Any], tmp_path: Path, capsys: Any) -> None:
    root, truth = planted
    first = truth.index_keys[0]
    case = f"{first}@{truth.onsets[first].isoformat()}+00:00"
    plain, comp = tmp_path / "plain.csv", tmp_path / "comp.csv"
    assert main(["trace", "--root", str(root), "--no-secondary", "-o", str(plain), "--case", case]) == 0
    assert main(["trace", "--root", str(root), "--no-secondary", "--companions", "-o", str(comp),
                 "--case", case]) == 0  # fmt: skip
    plain_rows = list(csv.DictReader(plain.open()))
    comp_rows = list(csv.DictReader(comp.open()))
    assert {r["relation"] for r in plain_rows} == {"close_contact"}
    # venue rows are unchanged; cell rows are now judged (and labelled) by the companion rule
    venue = [(r["contact_key"], r["place_key"]) for r in plain_rows if r["source"] == "venue_scan"]
    assert venue and venue == [
        (r["contact_key"], r["place_key"]) for r in comp_rows if r["source"] == "venue_scan"
    ]
    assert {r["relation"] for r in comp_rows if r["source"] == "cell"} <= {"companion"}
    assert "companion" in capsys.readouterr().err


def test_presence_load_reports_and_records(tmp_path: Path, capsys: Any, db: Any) -> None:
    from jiedao.core.models import AuditEntry

    path = tmp_path / "upstream.csv"
    path.write_text(
        "person_key,place_key,start_ts,end_ts,source\n"
        "P1,C-1,2022-06-01T08:00:00+08:00,2022-06-01T09:00:00+08:00,cell\n"
        "P2,C-1,2022-06-01T08:30:00+08:00,2022-06-01T08:00:00+08:00,cell\n"  # ends before it starts
        "P1,C-1,2022-06-01T08:00:00+08:00,2022-06-01T09:00:00+08:00,cell\n",  # a duplicate
        encoding="utf-8",
    )
    root = tmp_path / "store"
    assert main(["presence", "load", str(path), "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "1 written, 1 duplicates skipped, 1 refused" in out and "row 2" in out
    entry = AuditEntry.objects.get(action="tracing.load_presence")
    assert entry.changes["written"] == 1 and entry.changes["file"] == "upstream.csv"
    assert main(["presence", "days", "--root", str(root), "--last", "3"]) == 0
    assert main(["presence", "load", str(tmp_path / "missing.parquet"), "--root", str(root)]) == 2
    assert "missing.parquet" in capsys.readouterr().err
