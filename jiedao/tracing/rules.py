"""Co-presence rules as data: which presence records of two people make one a contact of the other.

A rule set is loaded from a dict or YAML (e.g. a protocol file) and handed to `query.build_trace_sql`;
no rule lives in an `if` of the engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from jiedao.tracing.schema import BULK, CELL, SOURCES, VENUE_SCAN

SCAN = "scan"  # records are moments: two scans within ±window_minutes
OVERLAP = "overlap"  # records are stays: intervals overlapping at least min_overlap_minutes
# Chengdu's spatio-temporal companion rule (时空伴随): stays in the same 800 m cell overlapping MORE than
# min_overlap_minutes (10), and either party spent more than dwell_hours (30) in that cell in the
# dwell_days (14) before the index case's onset. A companion is screened, not traced further.
COMPANION = "companion"
KINDS = (SCAN, OVERLAP, COMPANION)
STAY_KINDS = (OVERLAP, COMPANION)  # kinds whose records are intervals

# What a row of a trace is, from its degree and its source's rule kind.
CLOSE = "close_contact"
SECONDARY = "secondary_contact"
RELATIONS = (CLOSE, SECONDARY, COMPANION)


class RulesError(ValueError):
    """A rule set that cannot be run (unknown source or kind, a non-positive duration)."""


@dataclass(frozen=True)
class SourceRule:
    """The co-presence rule for the records of one source. Both records of a pair come from the
    same source (a venue code and a cell ID never name the same place)."""

    source: str
    kind: str
    window_minutes: int = 15  # SCAN: |t1 - t2| <= window (inclusive: exactly W apart counts)
    min_overlap_minutes: int = 15  # OVERLAP: overlap >= N (inclusive) and > 0 (touching never counts)
    bin_minutes: int = 60  # stays: width of the time bins they are exploded into (a tuning knob)
    dwell_hours: int = 30  # COMPANION: either party's time in the cell must exceed this ...
    dwell_days: int = 14  # ... within this many days before the index case's onset

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise RulesError(f"unknown source {self.source!r}; expected one of {', '.join(SOURCES)}")
        if self.kind not in KINDS:
            raise RulesError(
                f"unknown kind {self.kind!r} for {self.source}; expected one of {', '.join(KINDS)}"
            )
        for name in ("window_minutes", "min_overlap_minutes", "bin_minutes", "dwell_hours", "dwell_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise RulesError(
                    f"{self.source}.{name} must be a positive whole number of minutes, got {value!r}"
                )


CHENGDU_COMPANION = SourceRule(CELL, COMPANION, min_overlap_minutes=10, dwell_hours=30, dwell_days=14)


def _default_sources() -> tuple[SourceRule, ...]:
    return (
        SourceRule(VENUE_SCAN, SCAN),
        SourceRule(CELL, OVERLAP),
        SourceRule(BULK, OVERLAP),
    )


@dataclass(frozen=True)
class Rules:
    """One run's rules. `lookback_days`: the index case's records count from onset (or sampling)
    minus this many days up to onset. `secondary`: also find contacts of the close contacts, using
    each close contact's records from its first exposure to the index case's onset (never before);
    index cases and the same index case's close contacts are never secondary contacts."""

    sources: tuple[SourceRule, ...] = field(default_factory=_default_sources)
    lookback_days: int = 4
    secondary: bool = True

    def __post_init__(self) -> None:
        if (
            not isinstance(self.lookback_days, int)
            or isinstance(self.lookback_days, bool)
            or self.lookback_days <= 0
        ):
            raise RulesError(f"lookback_days must be a positive whole number, got {self.lookback_days!r}")
        seen = [r.source for r in self.sources]
        if len(seen) != len(set(seen)):
            raise RulesError("each source may have only one rule")
        if not self.sources:
            raise RulesError("a rule set needs at least one source")

    def for_source(self, source: str) -> SourceRule | None:
        return next((r for r in self.sources if r.source == source), None)

    def companion_sources(self) -> tuple[str, ...]:
        return tuple(r.source for r in self.sources if r.kind == COMPANION)

    def history_days(self) -> int:
        """How many days before onset the run reads: the look-back, or a companion rule's dwell days."""
        return max([self.lookback_days, *(r.dwell_days for r in self.sources if r.kind == COMPANION)])

    def relation(self, source: str, degree: int) -> str:
        """close_contact, secondary_contact or companion for a row of this run."""
        if degree == 2:
            return SECONDARY
        rule = self.for_source(source)
        return COMPANION if rule is not None and rule.kind == COMPANION else CLOSE

    def with_companions(self) -> Rules:
        """These rules with Chengdu's companion rule for cell records in place of their own."""
        others = tuple(r for r in self.sources if r.source != CELL)
        return replace(self, sources=(*others, CHENGDU_COMPANION))

    def max_reach_minutes(self) -> int:
        """How far a contact's record may lie outside the index window and still pair (scan windows)."""
        return max((r.window_minutes for r in self.sources if r.kind == SCAN), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lookback_days": self.lookback_days,
            "secondary": self.secondary,
            "sources": {
                r.source: {k: v for k, v in asdict(r).items() if k != "source"} for r in self.sources
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rules:
        """`{"lookback_days": 4, "secondary": true, "sources": {"venue_scan": {"kind": "scan",
        "window_minutes": 15}, "cell": {"kind": "overlap", "min_overlap_minutes": 15}}}`; sources
        left out get no rule; a missing `sources` means the defaults."""
        if not isinstance(data, dict):
            raise RulesError("rules must be a mapping")
        unknown = set(data) - {"lookback_days", "secondary", "sources"}
        if unknown:
            raise RulesError(f"unknown rule keys: {', '.join(sorted(unknown))}")
        kwargs: dict[str, Any] = {}
        if "lookback_days" in data:
            kwargs["lookback_days"] = data["lookback_days"]
        if "secondary" in data:
            if not isinstance(data["secondary"], bool):
                raise RulesError("secondary must be true or false")
            kwargs["secondary"] = data["secondary"]
        if "sources" in data:
            raw = data["sources"]
            if not isinstance(raw, dict):
                raise RulesError("sources must be a mapping of source name to its rule")
            rules = []
            for source, spec in raw.items():
                spec = dict(spec or {})
                allowed = {
                    "kind", "window_minutes", "min_overlap_minutes", "bin_minutes", "dwell_hours", "dwell_days",
                }  # fmt: skip
                if set(spec) - allowed:
                    raise RulesError(f"unknown keys for {source}: {', '.join(sorted(set(spec) - allowed))}")
                spec.setdefault("kind", SCAN if source == VENUE_SCAN else OVERLAP)
                if spec["kind"] == COMPANION:
                    spec.setdefault("min_overlap_minutes", CHENGDU_COMPANION.min_overlap_minutes)
                rules.append(SourceRule(source=source, **spec))
            kwargs["sources"] = tuple(rules)
        return cls(**kwargs)

    @classmethod
    def from_yaml(cls, text_or_path: str | Path) -> Rules:
        import yaml

        text = Path(text_or_path).read_text("utf-8") if isinstance(text_or_path, Path) else text_or_path
        return cls.from_dict(yaml.safe_load(text) or {})


DEFAULT_RULES = Rules()
