"""The Today page's section registry. The work app registers its own sections (Overdue, Due today,
Upcoming, Done today); later apps add theirs from their AppConfig.ready() without work importing them:

    from jiedao.work.sections import register_today_section
    register_today_section("nat.home_sampling", _("Home sampling"), 25, render_home_sampling)

`render(request)` returns the section's HTML (a card, say) or None to stay hidden — return None when
there is nothing for this user, so an empty day shows the page's single empty state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

Render = Callable[[HttpRequest], "str | None"]


@dataclass(frozen=True)
class TodaySection:
    key: str
    title: Any  # str or lazy translation
    order: int
    render: Render


_sections: dict[str, TodaySection] = {}


def register_today_section(key: str, title: Any, order: int, render: Render) -> TodaySection:
    """Add (or, for the same key, replace) a section. Lower `order` shows first; the built-in
    sections use 10, 20, 30 and 40."""
    section = TodaySection(key=key, title=title, order=order, render=render)
    _sections[key] = section
    return section


def unregister_today_section(key: str) -> None:
    _sections.pop(key, None)


def today_sections() -> list[TodaySection]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))


# Kinds of work item that are finished on their subject's page (a door alert is checked and closed on the
# alert page, a supply request delivered on its own page): their cards send the user there instead of
# offering "Done", which would leave the subject itself open.
_subject_driven: set[str] = set()


def register_subject_driven(*kinds: str) -> None:
    _subject_driven.update(kinds)


def is_subject_driven(kind: str) -> bool:
    return kind in _subject_driven
