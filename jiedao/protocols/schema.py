"""The shape of a prevention protocol: frozen dataclasses, and the validator that builds them from one
parsed (already merged, see loader.py) YAML mapping. Anything malformed is refused with an
`InvalidInput` whose message starts with the file and the key path, e.g.
`national-9th-edition.yaml: categories.close_contact.measure.days: expected a positive integer, got "seven"`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from jiedao.core.errors import InvalidInput
from jiedao.protocols.choices import MeasureType

PROTOCOL_KEY_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_]*$")
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")

# Parameters jiedao itself reads (screening and the schedule), so every protocol must set them.
# Any other parameter must be referred to as `$name` by some category, or it is a typo.
REQUIRED_PARAMETERS = {
    "lookback_days": "int",
    "travel_history_days": "int",
    "first_checkin_at": "time",
    "checkin_span_hours": "int",
}

TOP_REQUIRED = {"title", "disease", "version", "effective_from", "parameters", "categories"}
TOP_OPTIONAL = {"effective_until", "supersedes", "extends", "basis"}
CATEGORY_REQUIRED = {"label", "verification_deadline_hours", "measure"}
CATEGORY_OPTIONAL = {"release", "classify_as", "aliases", "notes"}
MEASURE_REQUIRED = {"type"}
MEASURE_OPTIONAL = {
    "days",
    "test_days",
    "checkins_per_day",
    "checkin_times",
    "min_test_interval_hours",
    "follow_on",
}
RELEASE_OPTIONAL = {
    "all_tests_negative",
    "no_symptoms",
    "linked_close_contact_negative_tests",
    "may_end_early",
}
LABEL_REQUIRED = {"en", "zh"}

# A YAML alias can make a follow-on contain itself; a real protocol never nests this deep.
MAX_FOLLOW_ON_DEPTH = 5


class ProtocolError(InvalidInput):
    """A malformed protocol. `field` (and `path`) is the dotted key path; `source` the file name."""

    def __init__(self, path: str, problem: str, *, source: str = "") -> None:
        message = f"{path}: {problem}" if path else problem
        if source:
            message = f"{source}: {message}"
        super().__init__(message, field=path or None)
        self.path = path
        self.problem = problem
        self.source = source


def _zh() -> bool:
    try:
        from django.utils.translation import get_language

        return (get_language() or "").startswith("zh")
    except ImproperlyConfigured:  # outside Django (the check command): English
        return False


@dataclass(frozen=True)
class Measure:
    """One control measure: its type, length in days (day 1 = the start day), the test days, the daily
    check-in times and the measure that follows it (e.g. home health monitoring after quarantine)."""

    type: MeasureType
    days: int
    test_days: tuple[int, ...] = ()
    checkin_times: tuple[dt.time, ...] = ()
    min_test_interval_hours: int = 0
    follow_on: Measure | None = None

    @property
    def checkins_per_day(self) -> int:
        return len(self.checkin_times)

    @property
    def label(self) -> str:
        return str(self.type.label)

    @property
    def total_days(self) -> int:
        """Days of this measure and every follow-on."""
        return self.days + (self.follow_on.total_days if self.follow_on else 0)

    def chain(self) -> Iterator[Measure]:
        """This measure, then its follow-on, then that one's, ..."""
        m: Measure | None = self
        while m is not None:
            yield m
            m = m.follow_on


@dataclass(frozen=True)
class ReleaseCriteria:
    """What must hold before a person under the category's measure is released (解除隔离)."""

    all_tests_negative: bool = True
    no_symptoms: bool = True
    # The person is released only once the close contact they are linked to has this many negative
    # tests (their first N); 0 = not required.
    linked_close_contact_negative_tests: int = 0
    # Once the criteria are met the measure may end before its last day.
    may_end_early: bool = False


@dataclass(frozen=True)
class Category:
    """A kind of key person (close contact, red-code holder, ...) and what the protocol does with them."""

    key: str
    label_en: str
    label_zh: str
    verification_deadline_hours: int
    measure: Measure
    release: ReleaseCriteria = ReleaseCriteria()
    # For categories that are only verified and then classified (red code, starred itinerary, ...):
    # the categories the verifier may choose from.
    classify_as: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    notes_en: str = ""
    notes_zh: str = ""

    @property
    def label(self) -> str:
        return self.label_zh if _zh() else self.label_en

    @property
    def notes(self) -> str:
        return self.notes_zh if _zh() else self.notes_en

    @property
    def verification_deadline(self) -> dt.timedelta:
        return dt.timedelta(hours=self.verification_deadline_hours)

    @property
    def classify_only(self) -> bool:
        """True when the category carries no measure of its own: verify, then classify into another."""
        return bool(self.classify_as) and self.measure.type == MeasureType.NONE and self.measure.days == 0

    @property
    def names(self) -> tuple[str, ...]:
        """Every text that names this category in a pushed list: key, labels and aliases."""
        return (self.key, self.label_en, self.label_zh, *self.aliases)


@dataclass(frozen=True)
class Protocol:
    """One version of a prevention protocol for one disease, in force from `effective_from`."""

    key: str
    title_en: str
    title_zh: str
    disease: str
    version: str
    effective_from: dt.date
    categories: Mapping[str, Category] = field(hash=False, compare=False)
    parameters: Mapping[str, int | dt.time] = field(hash=False, compare=False)
    effective_until: dt.date | None = None
    extends: str | None = None
    supersedes: str | None = None
    basis: str = ""
    source: str = ""

    @property
    def title(self) -> str:
        return self.title_zh if _zh() else self.title_en

    @property
    def lookback_days(self) -> int:
        """Days before onset (or sampling, if asymptomatic) from which contacts count."""
        return int(self.parameters["lookback_days"])  # type: ignore[arg-type]

    @property
    def travel_history_days(self) -> int:
        """Days of travel history that make an arrival from a risk area a key person."""
        return int(self.parameters["travel_history_days"])  # type: ignore[arg-type]

    def category(self, key: str) -> Category:
        try:
            return self.categories[key]
        except KeyError:
            raise InvalidInput(
                f"Unknown category {_show(key)} in protocol {self.key}; known: {', '.join(self.categories)}",
                field="category",
            ) from None

    def category_for_name(self, text: str) -> Category | None:
        """The category a pushed list means by `text` (key, English or Chinese label, or an alias)."""
        wanted = normalize_name(text)
        for cat in self.categories.values():
            if wanted in {normalize_name(n) for n in cat.names}:
                return cat
        return None

    def in_force_on(self, day: dt.date) -> bool:
        """Within this protocol's own dates (a successor may still have replaced it: see registry)."""
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)


def normalize_name(text: str) -> str:
    return "".join(str(text).split()).casefold().replace("-", "_")


def _show(value: Any) -> str:
    """A value as the YAML author would recognise it: strings in double quotes, null for None."""
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _int_desc(minimum: int, maximum: int | None) -> str:
    if maximum is not None:
        return f"an integer from {minimum} to {maximum}"
    return "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"


class _Builder:
    """Walks one merged protocol mapping, building dataclasses and failing at the first bad key."""

    def __init__(self, key: str, source: str) -> None:
        self.key = key
        self.source = source
        self.params: dict[str, int | dt.time] = {}
        self.used_params: set[str] = set()

    def fail(self, path: str, problem: str) -> ProtocolError:
        return ProtocolError(path, problem, source=self.source)

    # ---- generic readers ----------------------------------------------------------------------

    def mapping(self, value: Any, path: str, required: set[str], optional: set[str]) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"expected a mapping of keys, got {_show(value)}")
        allowed = required | optional
        for k in value:
            if not isinstance(k, str):
                raise self.fail(_join(path, str(k)), "keys must be text")
            if k not in allowed:
                raise self.fail(_join(path, k), f"unknown key; allowed: {', '.join(sorted(allowed))}")
        for k in sorted(required):
            if k not in value or value[k] is None:
                raise self.fail(_join(path, k), "required key is missing")
        return dict(value)

    def integer(self, value: Any, path: str, *, minimum: int = 1, maximum: int | None = None) -> int:
        origin = ""
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if name not in self.params:
                known = ", ".join(f"${p}" for p in sorted(self.params)) or "none"
                raise self.fail(path, f"unknown parameter {_show(value)}; parameters: {known}")
            self.used_params.add(name)
            value = self.params[name]
            origin = f" (from parameters.{name})"
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected {_int_desc(minimum, maximum)}, got {_show(value)}{origin}")
        if value < minimum or (maximum is not None and value > maximum):
            raise self.fail(path, f"expected {_int_desc(minimum, maximum)}, got {value}{origin}")
        return value

    def text(self, value: Any, path: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(path, f"expected text, got {_show(value)}")
        out = str(value).strip()
        if not out:
            raise self.fail(path, "must not be empty")
        return out

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {_show(value)}")
        return value

    def date(self, value: Any, path: str) -> dt.date:
        if isinstance(value, dt.datetime):
            raise self.fail(path, f"expected a date (YYYY-MM-DD) without a time, got {value.isoformat()}")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(path, f"expected a date (YYYY-MM-DD), got {_show(value)}")

    def time(self, value: Any, path: str) -> dt.time:
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 16:00 as the base-60 number 960.
            raise self.fail(path, f'expected a time "HH:MM" in quotes, got the number {value}')
        if isinstance(value, str) and (m := TIME_RE.match(value.strip())):
            return dt.time(int(m.group(1)), int(m.group(2)))
        raise self.fail(path, f'expected a time "HH:MM" (00:00 to 23:59), got {_show(value)}')

    def sequence(self, value: Any, path: str, what: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of {what}, got {_show(value)}")
        return value

    def identifier(self, value: Any, path: str, pattern: re.Pattern[str], what: str) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise self.fail(path, f"expected {what}, got {_show(value)}")
        return value

    def label(self, value: Any, path: str) -> tuple[str, str]:
        m = self.mapping(value, path, LABEL_REQUIRED, set())
        return self.text(m["en"], _join(path, "en")), self.text(m["zh"], _join(path, "zh"))

    # ---- protocol parts -----------------------------------------------------------------------

    def parameters(self, value: Any) -> None:
        path = "parameters"
        named = {k for k in value if isinstance(k, str)} if isinstance(value, Mapping) else set()
        m = self.mapping(value, path, set(REQUIRED_PARAMETERS), named)
        for name, raw in m.items():
            p = _join(path, name)
            self.identifier(name, p, IDENTIFIER_RE, "a parameter name of lower-case letters, digits and _")
            kind = REQUIRED_PARAMETERS.get(name)
            if kind == "time":
                self.params[name] = self.time(raw, p)
            elif kind == "int":
                self.params[name] = self.integer(raw, p, maximum=24 if name == "checkin_span_hours" else None)
            elif isinstance(raw, str) and TIME_RE.match(raw.strip()):
                self.params[name] = self.time(raw, p)
            elif isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
                self.params[name] = raw
            else:
                raise self.fail(p, f'expected a whole number or a time "HH:MM", got {_show(raw)}')

    def checkin_times_from_frequency(self, per_day: int) -> tuple[dt.time, ...]:
        """Spread `per_day` check-ins over the day: from first_checkin_at, every span/per_day hours
        (08:00 and 16:00 for twice a day with the shipped 08:00 and 16 h)."""
        first = self.params["first_checkin_at"]
        span = self.params["checkin_span_hours"]
        assert isinstance(first, dt.time) and isinstance(span, int)
        start = first.hour * 60 + first.minute
        step = span * 60 / per_day if per_day else 0
        minutes = [start + round(i * step) for i in range(per_day)]
        # A late first check-in with a long span must not run past midnight into the next day.
        minutes = [m for m in minutes if m < 24 * 60]
        return tuple(dt.time(m // 60, m % 60) for m in minutes)

    def measure(self, value: Any, path: str, depth: int = 0) -> Measure:
        if depth > MAX_FOLLOW_ON_DEPTH:
            raise self.fail(path, f"follow-ons nest more than {MAX_FOLLOW_ON_DEPTH} deep")
        m = self.mapping(value, path, MEASURE_REQUIRED, MEASURE_OPTIONAL)
        raw_type = m["type"]
        if raw_type not in MeasureType.values:
            raise self.fail(
                _join(path, "type"),
                f"unknown measure type {_show(raw_type)}; allowed: {', '.join(MeasureType.values)}",
            )
        mtype = MeasureType(raw_type)
        if "days" in m and m["days"] is not None:
            days = self.integer(m["days"], _join(path, "days"), minimum=0 if mtype == MeasureType.NONE else 1)
        elif mtype == MeasureType.NONE:
            days = 0
        else:
            raise self.fail(_join(path, "days"), "required key is missing")

        test_days = self.test_days(m.get("test_days"), _join(path, "test_days"), days)
        interval = 0
        if m.get("min_test_interval_hours") is not None:
            interval = self.integer(
                m["min_test_interval_hours"], _join(path, "min_test_interval_hours"), minimum=0
            )
        for a, b in itertools.pairwise(test_days):
            if (b - a) * 24 < interval:
                raise self.fail(
                    _join(path, "test_days"),
                    f"test days {a} and {b} are closer than min_test_interval_hours ({interval} h)",
                )
        if mtype == MeasureType.TWO_IN_THREE and len(test_days) < 2:
            raise self.fail(_join(path, "test_days"), "TWO_IN_THREE needs at least two test days")

        times = self.checkins(m, path)
        if days == 0 and times:
            given = "checkin_times" if m.get("checkin_times") is not None else "checkins_per_day"
            raise self.fail(_join(path, given), "a measure of 0 days has no check-ins")

        follow_on = None
        if m.get("follow_on") is not None:
            if days == 0:
                raise self.fail(_join(path, "follow_on"), "a measure of 0 days has nothing to follow")
            follow_on = self.measure(m["follow_on"], _join(path, "follow_on"), depth + 1)
        return Measure(mtype, days, test_days, times, interval, follow_on)

    def test_days(self, value: Any, path: str, days: int) -> tuple[int, ...]:
        if value is None:
            return ()
        out: list[int] = []
        for i, raw in enumerate(self.sequence(value, path, "day numbers")):
            day = self.integer(raw, _join(path, i))
            if day > days:
                raise self.fail(path, f"day {day} is beyond the measure's {days} days")
            if day in out:
                raise self.fail(path, f"day {day} is listed twice")
            out.append(day)
        return tuple(sorted(out))

    def checkins(self, m: dict[str, Any], path: str) -> tuple[dt.time, ...]:
        per_day, times = m.get("checkins_per_day"), m.get("checkin_times")
        if per_day is not None and times is not None:
            raise self.fail(_join(path, "checkin_times"), "give checkins_per_day or checkin_times, not both")
        if times is not None:
            p = _join(path, "checkin_times")
            out = [self.time(t, _join(p, i)) for i, t in enumerate(self.sequence(times, p, '"HH:MM" times'))]
            if out != sorted(set(out)):
                raise self.fail(p, "times must be in increasing order, each once")
            return tuple(out)
        if per_day is None:
            return ()
        n = self.integer(per_day, _join(path, "checkins_per_day"), minimum=0, maximum=24)
        out_times = self.checkin_times_from_frequency(n)
        if len(out_times) < n:
            raise self.fail(
                _join(path, "checkins_per_day"),
                f"{n} check-ins from parameters.first_checkin_at over parameters.checkin_span_hours "
                "run past midnight; give checkin_times instead",
            )
        return out_times

    def release(self, value: Any, path: str, measure: Measure) -> ReleaseCriteria:
        if value is None:
            return ReleaseCriteria(all_tests_negative=bool(measure.test_days), no_symptoms=measure.days > 0)
        m = self.mapping(value, path, set(), RELEASE_OPTIONAL)
        all_negative = bool(measure.test_days)
        if m.get("all_tests_negative") is not None:
            all_negative = self.boolean(m["all_tests_negative"], _join(path, "all_tests_negative"))
            if all_negative and not measure.test_days:
                raise self.fail(_join(path, "all_tests_negative"), "the measure schedules no tests")
        no_symptoms = measure.days > 0
        if m.get("no_symptoms") is not None:
            no_symptoms = self.boolean(m["no_symptoms"], _join(path, "no_symptoms"))
        linked = 0
        if m.get("linked_close_contact_negative_tests") is not None:
            linked = self.integer(
                m["linked_close_contact_negative_tests"],
                _join(path, "linked_close_contact_negative_tests"),
                minimum=0,
            )
        early = False
        if m.get("may_end_early") is not None:
            early = self.boolean(m["may_end_early"], _join(path, "may_end_early"))
            if early and not linked:
                raise self.fail(
                    _join(path, "may_end_early"),
                    "nothing can be met before the last day: set linked_close_contact_negative_tests",
                )
        return ReleaseCriteria(all_negative, no_symptoms, linked, early)

    def category(self, key: Any, value: Any) -> Category:
        path = _join("categories", str(key))
        self.identifier(key, path, IDENTIFIER_RE, "a category key of lower-case letters, digits and _")
        m = self.mapping(value, path, CATEGORY_REQUIRED, CATEGORY_OPTIONAL)
        en, zh = self.label(m["label"], _join(path, "label"))
        hours = self.integer(m["verification_deadline_hours"], _join(path, "verification_deadline_hours"))
        measure = self.measure(m["measure"], _join(path, "measure"))
        release = self.release(m.get("release"), _join(path, "release"), measure)
        classify_as: list[str] = []
        if m.get("classify_as") is not None:
            p = _join(path, "classify_as")
            for i, other in enumerate(self.sequence(m["classify_as"], p, "category keys")):
                other = self.identifier(other, _join(p, i), IDENTIFIER_RE, "a category key")
                if other == key:
                    raise self.fail(_join(p, i), "a category cannot be classified as itself")
                classify_as.append(other)
        aliases: list[str] = []
        if m.get("aliases") is not None:
            p = _join(path, "aliases")
            aliases = [
                self.text(a, _join(p, i)) for i, a in enumerate(self.sequence(m["aliases"], p, "names"))
            ]
        notes_en, notes_zh = (
            self.label(m["notes"], _join(path, "notes")) if m.get("notes") is not None else ("", "")
        )
        return Category(
            key, en, zh, hours, measure, release, tuple(classify_as), tuple(aliases), notes_en, notes_zh
        )

    def build(self, raw: Any) -> Protocol:
        m = self.mapping(raw, "", TOP_REQUIRED, TOP_OPTIONAL)
        title_en, title_zh = self.label(m["title"], "title")
        disease = self.identifier(m["disease"], "disease", IDENTIFIER_RE, "a disease key such as covid19")
        version = self.text(m["version"], "version")
        start = self.date(m["effective_from"], "effective_from")
        until = None
        if m.get("effective_until") is not None:
            until = self.date(m["effective_until"], "effective_until")
            if until < start:
                raise self.fail("effective_until", f"{until} is before effective_from {start}")
        refs = {}
        for name in ("extends", "supersedes"):
            if m.get(name) is not None:
                refs[name] = self.identifier(m[name], name, PROTOCOL_KEY_RE, "a protocol key")
                if refs[name] == self.key:
                    raise self.fail(name, "a protocol cannot refer to itself")
        basis = self.text(m["basis"], "basis") if m.get("basis") is not None else ""
        self.parameters(m["parameters"])

        cats_raw = m["categories"]
        if not isinstance(cats_raw, Mapping) or not cats_raw:
            raise self.fail("categories", f"expected a mapping of categories, got {_show(cats_raw)}")
        categories = {str(k): self.category(k, v) for k, v in cats_raw.items()}
        seen: dict[str, str] = {}
        for cat in categories.values():
            for i, other in enumerate(cat.classify_as):
                if other not in categories:
                    raise self.fail(
                        f"categories.{cat.key}.classify_as[{i}]", f"unknown category {_show(other)}"
                    )
            for name in cat.names:
                norm = normalize_name(name)
                if seen.get(norm, cat.key) != cat.key:
                    raise self.fail(
                        f"categories.{cat.key}", f"the name {_show(name)} already names category {seen[norm]}"
                    )
                seen[norm] = cat.key
        for name in sorted(set(self.params) - set(REQUIRED_PARAMETERS) - self.used_params):
            raise self.fail(
                f"parameters.{name}", f"not used: no category refers to ${name} and jiedao does not read it"
            )
        return Protocol(
            key=self.key, title_en=title_en, title_zh=title_zh, disease=disease, version=version,
            effective_from=start, effective_until=until, categories=MappingProxyType(categories),
            parameters=MappingProxyType(dict(self.params)), extends=refs.get("extends"),
            supersedes=refs.get("supersedes"), basis=basis, source=self.source,
        )  # fmt: skip


def build_protocol(key: str, raw: Any, *, source: str = "") -> Protocol:
    """Validate one protocol mapping (with `extends` already merged in) and freeze it."""
    if not PROTOCOL_KEY_RE.match(key):
        raise ProtocolError(
            "", f"{_show(key)} is not a protocol key: use lower-case letters, digits and -", source=source
        )
    return _Builder(key, source).build(raw)
