"""A measure laid out on the calendar: start, last day, test dates, daily check-ins and the follow-on.

Day 1 is the start day, so a 7-day measure starting on 28 June ends on 4 July and its follow-on
starts on 5 July. Dates are in the site's time zone (Asia/Shanghai: no daylight saving, so every
day has 24 hours)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from jiedao.protocols.choices import MeasureType
from jiedao.protocols.schema import Measure

DEFAULT_TIME_ZONE = "Asia/Shanghai"


def local_zone() -> ZoneInfo:
    try:
        return ZoneInfo(getattr(settings, "TIME_ZONE", None) or DEFAULT_TIME_ZONE)
    except ImproperlyConfigured:  # outside Django
        return ZoneInfo(DEFAULT_TIME_ZONE)


@dataclass(frozen=True)
class ScheduledTest:
    """One test of a measure: on `date` (day `day` of the measure), not before `not_before` — the
    start for day 1, later when the measure asks for a minimum interval between tests."""

    day: int
    date: dt.date
    not_before: dt.datetime


@dataclass(frozen=True)
class Schedule:
    """One measure for one person from one start, and (nested) the measure that follows it."""

    protocol_key: str
    category_key: str
    measure: Measure
    start: dt.datetime
    end_date: dt.date
    ends_at: dt.datetime
    tests: tuple[ScheduledTest, ...]
    checkin_times: tuple[dt.time, ...]
    follow_on: Schedule | None = None

    @property
    def type(self) -> MeasureType:
        return self.measure.type

    @property
    def days(self) -> int:
        return self.measure.days

    @property
    def start_date(self) -> dt.date:
        return self.start.date()

    @property
    def test_dates(self) -> tuple[dt.date, ...]:
        return tuple(t.date for t in self.tests)

    @property
    def final_end_date(self) -> dt.date:
        """The last day of this measure or, if there is one, of its last follow-on."""
        return self.follow_on.final_end_date if self.follow_on else self.end_date

    def phases(self) -> Iterator[Schedule]:
        """This schedule, then each follow-on in turn."""
        s: Schedule | None = self
        while s is not None:
            yield s
            s = s.follow_on

    def checkins(self) -> tuple[dt.datetime, ...]:
        """Every check-in of this measure (not its follow-on), from the start to the last day."""
        tz = self.start.tzinfo
        out = []
        day = self.start_date
        while day <= self.end_date and self.days:
            for t in self.checkin_times:
                at = dt.datetime.combine(day, t, tzinfo=tz)
                if at >= self.start:
                    out.append(at)
            day += dt.timedelta(days=1)
        return tuple(out)


def as_local_start(start: dt.datetime | dt.date) -> dt.datetime:
    """An aware datetime in the site's zone. A date means its midnight; a naive datetime is read as
    local wall-clock time."""
    tz = local_zone()
    if not isinstance(start, dt.datetime):
        return dt.datetime.combine(start, dt.time(0), tzinfo=tz)
    if start.tzinfo is None:
        return start.replace(tzinfo=tz)
    return start.astimezone(tz)


def lay_out(protocol_key: str, category_key: str, measure: Measure, start: dt.datetime) -> Schedule:
    """`measure` from `start` (aware, local), with its follow-ons starting at midnight after its last day."""
    tz = start.tzinfo
    first = start.date()
    if measure.days == 0:
        end_date, ends_at = first, start
    else:
        end_date = first + dt.timedelta(days=measure.days - 1)
        ends_at = dt.datetime.combine(end_date + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    tests = []
    interval = dt.timedelta(hours=measure.min_test_interval_hours)
    previous: dt.datetime | None = None
    for day in measure.test_days:
        date = first + dt.timedelta(days=day - 1)
        not_before = start if day == 1 else dt.datetime.combine(date, dt.time(0), tzinfo=tz)
        if previous is not None and previous + interval > not_before:
            not_before = previous + interval
        tests.append(ScheduledTest(day, date, not_before))
        previous = not_before
    follow_on = None
    if measure.follow_on is not None:
        follow_on = lay_out(protocol_key, category_key, measure.follow_on, ends_at)
    return Schedule(
        protocol_key=protocol_key, category_key=category_key, measure=measure, start=start,
        end_date=end_date, ends_at=ends_at, tests=tuple(tests), checkin_times=measure.checkin_times,
        follow_on=follow_on,
    )  # fmt: skip
