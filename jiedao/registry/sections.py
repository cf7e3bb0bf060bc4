"""Sections of the household file (一户一档) and of the person page. Later apps (screening, control,
nat, …) cannot be imported by the registry, so they register their sections here from their
`AppConfig.ready()`:

    from jiedao.registry.sections import register_household_section

    def _tests(request, household):
        return {"template": "nat/_household_tests.html", "samples": ...}   # or an HTML string, or None

    register_household_section("nat.tests", _("Tests"), 40, _tests, roles={"command", "doctor"})

`render(request, obj)` returns an HTML string (already escaped, e.g. from `render_to_string`), a
context dict with a "template" key, or None to leave the section out for this object. Sections are
shown in `order`; `roles` (optional) limits who sees a section."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

Render = Callable[[HttpRequest, Any], "str | dict[str, Any] | None"]


@dataclass(frozen=True)
class Section:
    key: str
    title: Any
    order: int
    render: Render
    roles: frozenset[str] | None = None


@dataclass
class RenderedSection:
    key: str
    title: Any
    html: SafeString


_household: dict[str, Section] = {}
_person: dict[str, Section] = {}


def _register(
    registry: dict[str, Section],
    key: str,
    title: Any,
    order: int,
    render: Render,
    roles: Iterable[str] | None,
) -> Section:
    # Registering the same key again replaces it, so a reloaded app does not show a section twice.
    section = Section(key, title, order, render, frozenset(roles) if roles is not None else None)
    registry[key] = section
    return section


def register_household_section(
    key: str, title: Any, order: int, render: Render, roles: Iterable[str] | None = None
) -> Section:
    return _register(_household, key, title, order, render, roles)


def register_person_section(
    key: str, title: Any, order: int, render: Render, roles: Iterable[str] | None = None
) -> Section:
    return _register(_person, key, title, order, render, roles)


def _render(registry: dict[str, Section], request: HttpRequest, obj: Any) -> list[RenderedSection]:
    user: Any = request.user
    out: list[RenderedSection] = []
    for section in sorted(registry.values(), key=lambda s: (s.order, s.key)):
        if section.roles is not None and not user.has_role(*section.roles):
            continue
        result = section.render(request, obj)
        if result is None:
            continue
        if isinstance(result, dict):
            context = dict(result)
            template = context.pop("template")
            html: str = render_to_string(template, context, request=request)
        else:
            html = str(result)
        out.append(
            RenderedSection(section.key, section.title, mark_safe(html))
        )  # rendered by the app from its own template
    return out


def household_sections(request: HttpRequest, household: Any) -> list[RenderedSection]:
    return _render(_household, request, household)


def person_sections(request: HttpRequest, person: Any) -> list[RenderedSection]:
    return _render(_person, request, person)


def household_section_keys() -> list[str]:
    return [s.key for s in sorted(_household.values(), key=lambda s: (s.order, s.key))]


def person_section_keys() -> list[str]:
    return [s.key for s in sorted(_person.values(), key=lambda s: (s.order, s.key))]
