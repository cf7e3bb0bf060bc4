"""Test helpers: the shipped national protocol as a fresh mapping to break, and a dotted-path setter."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from jiedao.protocols import registry

NATIONAL = registry.DATA_DIR / "national-9th-edition.yaml"
_NATIONAL_DOC = yaml.safe_load(NATIONAL.read_text(encoding="utf-8"))


def national_doc() -> dict[str, Any]:
    return copy.deepcopy(_NATIONAL_DOC)


def set_path(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or, with value DELETE, remove) a dotted key path in `doc`."""
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


class _Delete:
    """Marks a key to remove; a stable repr keeps parametrised test ids the same on every worker."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()
