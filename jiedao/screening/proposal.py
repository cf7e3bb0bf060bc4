"""What the protocol proposes once a key person is reached: which categories the verifier may choose,
which one is proposed, and each one's measure laid out on the calendar from the last exposure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from jiedao.protocols.registry import schedule
from jiedao.protocols.scheduling import Schedule
from jiedao.protocols.schema import Protocol

NO_MEASURE = ""  # the verifier's choice "no measure needed"


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    measure: str
    start: dt.date
    end: dt.date
    test_dates: tuple[dt.date, ...]
    passed: bool  # the whole measure would already be over


@dataclass
class Proposal:
    proposed: str
    options: list[Option] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    fever_clinic: bool = False

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)

    @property
    def keys(self) -> set[str]:
        return {o.key for o in self.options} | {NO_MEASURE}


def last_day(plan: Schedule) -> dt.date:
    while plan.follow_on is not None:
        plan = plan.follow_on
    return plan.end_date


def all_test_dates(plan: Schedule | None) -> tuple[dt.date, ...]:
    out: list[dt.date] = []
    while plan is not None:
        out.extend(t.date for t in plan.tests)
        plan = plan.follow_on
    return tuple(out)


def measure_start(last_exposure: dt.date | None, today: dt.date) -> dt.date:
    """Day 1 of a measure: the day after the last exposure (the 9th edition counts from it), even when
    that is tomorrow (exposed today: starting today would release a day early); today when unknown."""
    if last_exposure is None or last_exposure > today:
        return today
    return last_exposure + dt.timedelta(days=1)


def propose(
    protocol: Protocol, category: str, *, last_exposure: dt.date | None, symptoms: bool, today: dt.date
) -> Proposal:
    cat = protocol.category(category)
    keys = list(cat.classify_as) if cat.classify_only else [cat.key]
    start = measure_start(last_exposure, today)
    options = []
    for key in keys:
        c = protocol.category(key)
        plan = schedule(protocol, c, start)
        end = last_day(plan)
        options.append(
            Option(
                key=c.key, label=c.label, measure=" → ".join(m.label for m in c.measure.chain()),
                start=start, end=end, test_dates=all_test_dates(plan), passed=end < today,
            )
        )  # fmt: skip
    proposal = Proposal(proposed=options[0].key if options else NO_MEASURE, options=options)
    if cat.classify_only:
        proposal.reasons.append(
            _("%(category)s is verified and then classified: choose what the person turned out to be.")
            % {"category": cat.label}
        )
    first = options[0] if options else None
    if first is not None and first.passed:
        proposal.proposed = NO_MEASURE
        proposal.reasons.append(
            _(
                "Counted from the last exposure, the %(measure)s would have ended on %(end)s: no measure is needed."
            )
            % {"measure": first.measure, "end": first.end.isoformat()}
        )
    if symptoms:
        proposal.fever_clinic = True
        proposal.reasons.append(
            _("Symptoms: arrange a test at once and refer the person to the fever clinic.")
        )
    return proposal
