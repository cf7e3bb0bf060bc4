"""Shared fixtures: the cast, API clients and, for browser tests, Debian's Chromium via Playwright."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiedao.core.testing import CAST_PASSWORD, Cast, build_cast

ARTIFACTS = Path(__file__).parent / "test-artifacts"
CHROMIUM = os.environ.get("JIEDAO_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Counters such as login throttling live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def cast(db: Any) -> Cast:
    return build_cast()


@pytest.fixture
def login(client: Any, cast: Cast) -> Any:
    def _login(key: str) -> Any:
        client.force_login(cast[key])
        return client

    return _login


@pytest.fixture
def flushable_audit_log(transactional_db: Any) -> Iterator[None]:
    """Use with `live_server` or `transactional_db`. The live server needs a transactional database, which is emptied by a flush after each test. On
    SQLite the flush DELETEs rows, and the audit log's append-only trigger refuses that; so empty the
    audit table with the trigger lifted for a moment, then put the trigger back. (PostgreSQL flushes with
    TRUNCATE, which row triggers do not see.) Teardown runs after the browser closed, before the flush."""
    yield
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    migration = importlib.import_module("jiedao.core.migrations.0003_audit_append_only")
    with connection.cursor() as cur:
        cur.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")
        cur.execute("DELETE FROM core_auditentry")
        for sql in migration.SQLITE:
            cur.execute(sql)


# ---- browser tests -------------------------------------------------------------------------------


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    required = os.environ.get("JIEDAO_BROWSER_TESTS") == "required"
    if Path(CHROMIUM).exists() or required:
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield b
        b.close()


class BrowserSession:
    """A signed-in browser page against the live server, with phone/desktop screenshots."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def login(self, username: str, password: str = CAST_PASSWORD) -> None:
        self.goto("/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("[data-testid=login-submit]")
        self.page.wait_for_load_state("networkidle")

    def screenshot(self, name: str) -> list[Path]:
        """Save `name-phone.png` and `name-desktop.png` of the current page under test-artifacts/."""
        out = ARTIFACTS / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            self.page.set_viewport_size(size)
            self.page.wait_for_timeout(250)
            path = out / f"{name}-{label}.png"
            self.page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        self.page.set_viewport_size(DESKTOP)
        return paths

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def web(browser: Any, live_server: Any) -> Iterator[BrowserSession]:
    session = BrowserSession(browser, live_server.url)
    yield session
    session.close()


@pytest.fixture
def english(client: Any) -> Any:
    """For tests that read English UI text: the UI is Chinese unless the user switches."""
    client.cookies["django_language"] = "en"
    return client
