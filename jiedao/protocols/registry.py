"""The API other apps call: which protocol is in force, and what a category's measure means on the
calendar. Protocols are read once from `jiedao/protocols/data/*.yaml` (plus any directories in the
`JIEDAO_PROTOCOL_DIRS` setting) and cached; `clear_cache()` forgets them (tests, a reload).

    protocol = get_protocol(on=date.today())          # the configured protocol's line, in force today
    category = protocol.category("close_contact")
    due = verification_due(protocol, "close_contact", pushed_at)
    plan = schedule(protocol, "close_contact", start)  # plan.end_date, plan.test_dates, plan.follow_on
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from jiedao.core.errors import NotFound
from jiedao.protocols.loader import load_dirs
from jiedao.protocols.scheduling import Schedule, as_local_start, lay_out
from jiedao.protocols.schema import Category, Protocol

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_PROTOCOL = "national-9th-edition"


def protocol_dirs() -> tuple[Path, ...]:
    """The shipped protocols, then any local directories (`JIEDAO_PROTOCOL_DIRS`: a list, or one
    string of paths separated by the OS path separator)."""
    extra = getattr(settings, "JIEDAO_PROTOCOL_DIRS", ()) or ()
    if isinstance(extra, str):
        extra = [p for p in extra.split(os.pathsep) if p.strip()]
    return (DATA_DIR, *(Path(p).resolve() for p in extra))


@functools.lru_cache(maxsize=4)
def _load(dirs: tuple[Path, ...]) -> Mapping[str, Protocol]:
    return load_dirs(dirs)


def all_protocols() -> Mapping[str, Protocol]:
    """Every protocol by key (loaded once per set of directories)."""
    return _load(protocol_dirs())


def clear_cache() -> None:
    _load.cache_clear()


def default_protocol_key() -> str:
    return getattr(settings, "JIEDAO_PROTOCOL", "") or DEFAULT_PROTOCOL


def list_protocols() -> list[Protocol]:
    """Every protocol, by disease, then effective date, then key."""
    return sorted(all_protocols().values(), key=lambda p: (p.disease, p.effective_from, p.key))


def line_of(protocol: Protocol) -> list[Protocol]:
    """The protocol with its predecessors and successors (`supersedes`), oldest first."""
    # The loader checked that each version takes effect after the one it supersedes and that no
    # version is superseded twice, so both walks end.
    protocols = all_protocols()
    successor = {p.supersedes: p for p in protocols.values() if p.supersedes}
    first = protocol
    while first.supersedes:
        first = protocols[first.supersedes]
    line = [first]
    while line[-1].key in successor:
        line.append(successor[line[-1].key])
    return line


def get_protocol(key: str | None = None, *, on: dt.date | None = None) -> Protocol:
    """The protocol to apply.

    - `get_protocol()`: the configured protocol (`JIEDAO_PROTOCOL`, default national-9th-edition), or
      the version of its line (`supersedes`) in force today.
    - `get_protocol(key)`: exactly that protocol, whatever the date (a case keeps the protocol it
      was opened under).
    - `get_protocol(key, on=day)` / `get_protocol(on=day)`: the version of the line in force that day.

    Unknown key → NotFound; nothing of the line in force that day → NotFound naming the dates; a
    `JIEDAO_PROTOCOL` that names no protocol → ImproperlyConfigured.
    """
    protocols = all_protocols()
    if key is None:
        key = default_protocol_key()
        if key not in protocols:
            raise ImproperlyConfigured(
                f"JIEDAO_PROTOCOL is {key!r}, which is not a protocol; known: {', '.join(sorted(protocols))}"
            )
        if on is None:
            on = timezone.localdate()
    elif key not in protocols:
        raise NotFound(f"Unknown protocol {key!r}; known: {', '.join(sorted(protocols))}", field="protocol")
    protocol = protocols[key]
    if on is None:
        return protocol
    line = line_of(protocol)
    # The newest version that had taken effect by `on` and was not ended by its own effective_until.
    for candidate in reversed(line):
        if candidate.effective_from <= on:
            if candidate.in_force_on(on):
                return candidate
            break
    dates = "; ".join(
        f"{p.key} from {p.effective_from}" + (f" until {p.effective_until}" if p.effective_until else "")
        for p in line
    )
    raise NotFound(f"No version of protocol {key} is in force on {on} ({dates}).", field="on")


def _resolve(protocol: Protocol | str, category: Category | str) -> tuple[Protocol, Category]:
    p = get_protocol(protocol) if isinstance(protocol, str) else protocol
    c = p.category(category) if isinstance(category, str) else category
    return p, c


def schedule(protocol: Protocol | str, category: Category | str, start: dt.datetime | dt.date) -> Schedule:
    """The category's measure laid out from `start` (day 1 = the start day, in the site's zone);
    `follow_on` holds the next measure's schedule, starting the day after. Unknown category →
    InvalidInput naming the known ones."""
    p, c = _resolve(protocol, category)
    return lay_out(p.key, c.key, c.measure, as_local_start(start))


def verification_due(
    protocol: Protocol | str, category: Category | str, received_at: dt.datetime
) -> dt.datetime:
    """When a person of this category pushed at `received_at` must be verified (aware, local)."""
    _p, c = _resolve(protocol, category)
    return as_local_start(received_at) + c.verification_deadline
