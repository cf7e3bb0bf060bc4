"""Fixtures for the browser tests: a signed-in page, and staged imports kept in a temporary directory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _var_dir(settings: Any, tmp_path: Any) -> None:
    # The register's importer stages uploads under VAR_DIR; keep them out of the checkout.
    settings.VAR_DIR = tmp_path


@pytest.fixture(autouse=True)
def _flushable(flushable_audit_log: None) -> None:
    """Every browser test uses the live server; see the root conftest."""


@pytest.fixture
def signed_in(web: Any) -> Callable[[str], Any]:
    """Sign `username` in (cast password) and return the Playwright page."""

    def _sign_in(username: str) -> Any:
        web.login(username)
        assert "/login/" not in web.page.url, f"{username} could not sign in: {web.page.url}"
        return web.page

    return _sign_in
