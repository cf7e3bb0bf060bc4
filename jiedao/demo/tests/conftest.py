"""A demo built once per test module (inside a transaction rolled back at the end of the module, so
other modules still start from an empty database); each test's own changes roll back as usual."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from jiedao.demo.build import NANHU_EXACT_MIN_SCALE, build_demo

# The smallest build that holds Nanhu Shangjing at its exact size.
TEST_SCALE = NANHU_EXACT_MIN_SCALE
TEST_SEED = 2022


@pytest.fixture(scope="module")
def demo(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    # the demo writes its presence store under VAR_DIR: one of its own per module (and per worker)
    var = override_settings(VAR_DIR=tmp_path_factory.mktemp("demo-var"))
    var.enable()
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            summary = build_demo(scale=TEST_SCALE, seed=TEST_SEED)
        except BaseException:
            atomic.__exit__(*sys.exc_info())
            var.disable()
            raise
    try:
        yield summary
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
        var.disable()


@pytest.fixture(autouse=True)
def _own_var_dir(settings: Any, tmp_path: Any) -> None:
    """Builds inside a test write their presence store under a VAR_DIR of their own, never the checkout's."""
    settings.VAR_DIR = tmp_path
