"""A case's plan: the protocol's schedule for a category from a start day, as data the case keeps (so a
later protocol edit never changes a running case), and the day-by-day calendar shown on its page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from jiedao.protocols.choices import MeasureType
from jiedao.protocols.registry import get_protocol, schedule


def build_plan(protocol_key: str, category: str, start: dt.date) -> dict[str, Any]:
    """Phases (the measure, then each follow-on) with their first and last day, test days and check-in
    times. Raises InvalidInput for an unknown category."""
    protocol = get_protocol(protocol_key)
    plan = schedule(protocol, category, start)
    phases = [
        {
            "type": str(p.type),
            "start": p.start_date.isoformat(),
            "end": p.end_date.isoformat(),
            "days": p.days,
            "tests": [t.date.isoformat() for t in p.tests],
            "checkins": [t.strftime("%H:%M") for t in p.checkin_times],
        }
        for p in plan.phases()
    ]
    return {"protocol": protocol.key, "category": category, "phases": phases}


def plan_start(plan: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(plan["phases"][0]["start"])


def plan_end(plan: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(plan["phases"][-1]["end"])


def has_measure(protocol_key: str, category: str) -> bool:
    c = get_protocol(protocol_key).category(category)
    return c.measure.type != MeasureType.NONE and c.measure.days > 0


@dataclass(frozen=True)
class PlanDay:
    date: dt.date
    number: int  # day N of the case
    measure: str  # the phase's measure type
    tests: bool
    checkins: tuple[str, ...]


def calendar(plan: dict[str, Any]) -> list[PlanDay]:
    """Every day of the plan, in order."""
    first = plan_start(plan)
    out = []
    for phase in plan.get("phases", []):
        tests = set(phase["tests"])
        day = dt.date.fromisoformat(phase["start"])
        end = dt.date.fromisoformat(phase["end"])
        while day <= end:
            out.append(
                PlanDay(
                    day,
                    (day - first).days + 1,
                    phase["type"],
                    day.isoformat() in tests,
                    tuple(phase["checkins"]),
                )
            )
            day += dt.timedelta(days=1)
    return out


def summary(plan: dict[str, Any]) -> str:
    """`CENTRAL_QUARANTINE 2022-06-01–06-07 → HOME_MONITORING …` for audit entries."""
    return " → ".join(f"{p['type']} {p['start']}–{p['end']}" for p in plan.get("phases", []))
