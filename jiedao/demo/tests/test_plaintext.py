"""No valid 18-digit resident ID appears in plain text anywhere in the database file: build a real
SQLite demo in a subprocess (`jiedao demo --build-only`), then scan the file's bytes (and its WAL)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from jiedao.core.crypto import decrypt
from jiedao.core.identity import id_check_char, is_valid_resident_id

# Overlapping matches: a valid ID may start anywhere inside a longer run of digits.
ID_LIKE = re.compile(rb"(?=(\d{17}[\dX]))")


def plaintext_ids(blob: bytes) -> list[str]:
    found = []
    for m in ID_LIKE.finditer(blob):
        text = m.group(1).decode("ascii")
        if is_valid_resident_id(text):
            found.append(text)
    return found


def test_the_scanner_finds_a_plain_id() -> None:
    first17 = "51011619900307123"
    valid = first17 + id_check_char(first17)
    assert plaintext_ids(b"\x00\x05abc" + valid.encode() + b"9\x00") == [valid]
    assert plaintext_ids(b"510116199003071230") == []  # wrong check digit


def test_no_valid_id_in_plain_text_in_the_database_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "JIEDAO_TESTING")}
    env.update(JIEDAO_VAR_DIR=str(tmp_path), JIEDAO_DEBUG="1")
    run = subprocess.run(
        [sys.executable, "-m", "jiedao.cli", "demo", "--build-only", "--scale", "2000"],
        env=env, capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "grid_binjiang_1" in run.stdout
    db = tmp_path / "jiedao.sqlite3"
    files = [p for p in (db, Path(f"{db}-wal")) if p.exists()]
    blob = b"".join(p.read_bytes() for p in files)
    assert len(blob) > 1_000_000
    assert plaintext_ids(blob) == []
    # The file does hold the IDs — encrypted: every stored number decrypts to a valid resident ID.
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id_number FROM registry_person WHERE id_type = 'resident_id'").fetchall()
    assert len(rows) > 1900
    assert all(r[0].startswith("v1:") for r in rows)
    assert all(is_valid_resident_id(decrypt(r[0])) for r in rows[:200])
