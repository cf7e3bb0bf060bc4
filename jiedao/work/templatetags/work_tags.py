"""Small display helpers for work-item templates."""

from __future__ import annotations

from typing import Any

from django import template

from jiedao.org.choices import Role
from jiedao.work.choices import Priority

register = template.Library()

_ROLE_LABELS = dict(Role.choices)
_PRIORITY_TONES: dict[int, str] = {
    Priority.LOW: "secondary",
    Priority.NORMAL: "blue",
    Priority.HIGH: "orange",
    Priority.URGENT: "red",
}


@register.filter
def role_label(value: str) -> Any:
    return _ROLE_LABELS.get(value, value)


@register.filter
def priority_tone(value: int) -> str:
    return _PRIORITY_TONES.get(value, "secondary")
