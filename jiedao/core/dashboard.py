"""Dashboard cards: each app registers a function that returns its counts for a user's scope, so the
home page gathers every module without core importing any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Card:
    title: str
    value: int | str
    url: str = ""
    note: str = ""
    tone: str = ""  # "", "danger", "warning", "success"
    extra: dict[str, Any] = field(default_factory=dict)


_providers: list[tuple[int, Callable[[Any], list[Card]]]] = []


def register(order: int) -> Callable[[Callable[[Any], list[Card]]], Callable[[Any], list[Card]]]:
    def deco(fn: Callable[[Any], list[Card]]) -> Callable[[Any], list[Card]]:
        if fn not in [f for _, f in _providers]:
            _providers.append((order, fn))
            _providers.sort(key=lambda p: p[0])
        return fn

    return deco


def cards_for(user: Any) -> list[Card]:
    out: list[Card] = []
    for _, fn in _providers:
        out.extend(fn(user))
    return out


@dataclass
class Panel:
    """A wider block on the dashboard (a chart or a map) rendered from `template` with `context`."""

    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    width: int = 12  # Bootstrap columns on desktop


_panels: list[tuple[int, Callable[[Any], list[Panel]]]] = []


def register_panel(order: int) -> Callable[[Callable[[Any], list[Panel]]], Callable[[Any], list[Panel]]]:
    def deco(fn: Callable[[Any], list[Panel]]) -> Callable[[Any], list[Panel]]:
        if fn not in [f for _, f in _panels]:
            _panels.append((order, fn))
            _panels.sort(key=lambda p: p[0])
        return fn

    return deco


def panels_for(user: Any) -> list[Panel]:
    out: list[Panel] = []
    for _, fn in _panels:
        out.extend(fn(user))
    return out
