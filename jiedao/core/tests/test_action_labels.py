"""History lists read as sentences: every action an app writes has a label in the UI language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jiedao.core import audit

ROOT = Path(__file__).resolve().parents[2]


def _written_actions() -> set[str]:
    found: set[str] = set()
    for path in ROOT.glob("*/actions.py"):
        found |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    return found


def test_every_action_code_has_a_label() -> None:
    actions = _written_actions()
    assert len(actions) > 20
    missing = sorted(a for a in actions if audit.action_label(a) == a)
    assert not missing, f"actions without a label (register them in the app's ready()): {missing}"


@pytest.mark.django_db
def test_audit_log_page_shows_labels(client, cast) -> None:  # type: ignore[no-untyped-def]
    from jiedao.org.actions import do_assign_role

    do_assign_role(
        actor=cast["command"], user=cast["outsider"], role="volunteer", level="grid", grid=cast.grid_a1
    )
    client.force_login(cast["command"])
    body = client.get("/audit/").content.decode()
    assert "授予角色" in body and "org.assign_role" in body
