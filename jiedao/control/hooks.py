"""What higher apps (door sensors, later testing) attach to a control case: a hook that ends their part
when a case is released or cancelled, and cards on the case page. Control never imports them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

# (actor, case, why) -> {what: how many ended}
EndHook = Callable[[Any, Any, str], dict[str, int]]
# (request, case) -> rendered HTML or None
CaseCard = Callable[[HttpRequest, Any], str | None]

_end_hooks: list[EndHook] = []
_case_cards: list[tuple[int, CaseCard]] = []


def register_end_hook(hook: EndHook) -> None:
    if hook not in _end_hooks:
        _end_hooks.append(hook)


def run_end_hooks(actor: Any, case: Any, why: str) -> dict[str, int]:
    ended: dict[str, int] = {}
    for hook in _end_hooks:
        ended.update(hook(actor, case, why))
    return ended


def register_case_card(order: int, card: CaseCard) -> None:
    if all(c is not card for _o, c in _case_cards):
        _case_cards.append((order, card))
        _case_cards.sort(key=lambda oc: oc[0])


def render_case_cards(request: HttpRequest, case: Any) -> list[str]:
    return [html for _o, card in _case_cards if (html := card(request, case))]
