"""Fixtures for protocol tests: protocol files in a temporary directory, and a clean registry cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jiedao.protocols import registry
from jiedao.protocols.loader import Library
from jiedao.protocols.schema import Protocol


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(key, doc_or_text) → path of tmp_path/key.yaml."""

    def _write(key: str, content: dict[str, Any] | str) -> Path:
        text = (
            content
            if isinstance(content, str)
            else yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
        )
        path = tmp_path / f"{key}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def load(tmp_path: Path) -> Callable[[str], Protocol]:
    """load(key) → the protocol `key` from tmp_path (every file there must be valid)."""
    return lambda key: Library([tmp_path]).build(key)


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    registry.clear_cache()
    yield
    registry.clear_cache()
