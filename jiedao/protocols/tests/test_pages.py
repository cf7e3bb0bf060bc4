"""The read-only protocols page (any role; outsiders refused) and the file checker command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jiedao.protocols.check import main
from jiedao.protocols.registry import DATA_DIR
from jiedao.protocols.tests.helpers import NATIONAL

pytestmark = pytest.mark.urls("jiedao.protocols.tests.urls")


@pytest.mark.django_db
def test_every_role_sees_each_protocol_with_its_measures(login: Any) -> None:
    client = login("grid_worker_a")
    resp = client.get("/protocols/")
    assert resp.status_code == 200
    html = resp.content.decode()
    for key in ("national-9th-edition", "chengdu-2022"):
        assert f'data-testid="protocol-{key}"' in html
    assert "新型冠状病毒肺炎防控方案（第九版）" in html
    assert "密切接触者" in html
    assert "1, 2, 3, 5, 7" in html and "1, 4, 7" in html
    assert 'data-testid="linked-release"' in html
    assert 'data-testid="applied"' in html
    # Chengdu's own deadlines stand out from what it inherits.
    assert 'data-testid="overridden-urgent_verification_hours"' in html
    assert 'data-testid="overridden-lookback_days"' not in html


@pytest.mark.django_db
def test_the_page_in_english(login: Any) -> None:
    client = login("command")
    client.post("/i18n/setlang/", {"language": "en", "next": "/protocols/"})
    html = client.get("/protocols/").content.decode()
    assert "Close contact" in html and "Centralised quarantine" in html


@pytest.mark.django_db
def test_outsiders_and_anonymous_visitors_are_refused(client: Any, login: Any) -> None:
    assert client.get("/protocols/").status_code == 302
    assert login("outsider").get("/protocols/").status_code == 403


def test_check_command_accepts_the_shipped_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(p) for p in sorted(DATA_DIR.glob("*.yaml"))]) == 0
    out = capsys.readouterr().out
    assert out.count("OK ") == 2
    assert "chengdu-2022" in out and "extends national-9th-edition" in out


def test_check_command_names_the_broken_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "local.yaml"
    bad.write_text(
        "extends: national-9th-edition\ntitle: {en: L, zh: 本地}\nversion: 1\neffective_from: 2022-07-01\n"
        "categories:\n  companion:\n    measure:\n      type: SEALED\n",
        encoding="utf-8",
    )
    assert main([str(bad), str(NATIONAL)]) == 1
    captured = capsys.readouterr()
    assert 'local.yaml: categories.companion.measure.type: unknown measure type "SEALED"' in captured.err
    assert "OK " in captured.out  # the good file is still reported


def test_check_command_runs_without_django_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-m", "jiedao.protocols.check", str(NATIONAL)],
        capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[3], timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK ")
