"""schedule(): day 1 is the start day, dates cross month and year ends correctly in Asia/Shanghai,
tests keep their minimum interval, check-ins follow the frequency, and the follow-on starts the day
after. Hypothesis checks the invariants over every shipped category and over generated measures."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiedao.protocols import registry
from jiedao.protocols.choices import MeasureType
from jiedao.protocols.scheduling import Schedule, lay_out
from jiedao.protocols.schema import Measure

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = dt.date


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


def test_close_contact_across_a_month_end() -> None:
    s = registry.schedule("national-9th-edition", "close_contact", at(2022, 6, 28, 15, 30))
    assert s.type == MeasureType.CENTRAL_QUARANTINE
    assert (s.start_date, s.end_date) == (D(2022, 6, 28), D(2022, 7, 4))
    assert s.ends_at == at(2022, 7, 5)
    assert s.test_dates == (D(2022, 6, 28), D(2022, 6, 29), D(2022, 6, 30), D(2022, 7, 2), D(2022, 7, 4))
    assert s.tests[0].not_before == s.start
    f = s.follow_on
    assert f is not None and f.type == MeasureType.HOME_MONITORING
    assert (f.start, f.end_date, f.test_dates) == (at(2022, 7, 5), D(2022, 7, 7), (D(2022, 7, 7),))
    assert f.follow_on is None
    assert s.final_end_date == D(2022, 7, 7)
    assert [p.type for p in s.phases()] == [MeasureType.CENTRAL_QUARANTINE, MeasureType.HOME_MONITORING]


def test_year_end_and_leap_day() -> None:
    s = registry.schedule("national-9th-edition", "secondary_contact", D(2022, 12, 29))
    assert s.start == at(2022, 12, 29)
    assert s.test_dates == (D(2022, 12, 29), D(2023, 1, 1), D(2023, 1, 4))
    assert s.end_date == D(2023, 1, 4)
    s = registry.schedule("national-9th-edition", "close_contact", D(2024, 2, 26))
    # Day 4 is 29 February, so day 5 is 1 March.
    assert s.test_dates == (D(2024, 2, 26), D(2024, 2, 27), D(2024, 2, 28), D(2024, 3, 1), D(2024, 3, 3))
    assert s.end_date == D(2024, 3, 3)
    assert s.follow_on is not None and s.follow_on.test_dates == (D(2024, 3, 6),)


def test_an_aware_start_elsewhere_is_read_in_shanghai() -> None:
    # 17:30 UTC on 30 June is 01:30 on 1 July in Shanghai: day 1 is 1 July.
    s = registry.schedule(
        "national-9th-edition", "medium_risk_area_arrival", dt.datetime(2022, 6, 30, 17, 30, tzinfo=dt.UTC)
    )
    assert s.start == at(2022, 7, 1, 1, 30)
    assert s.test_dates == (D(2022, 7, 1), D(2022, 7, 4), D(2022, 7, 7))
    # A naive datetime is read as Shanghai wall-clock time.
    naive = registry.schedule(
        "national-9th-edition", "medium_risk_area_arrival", dt.datetime(2022, 7, 1, 1, 30)
    )
    assert naive.start == s.start


def test_companions_two_tests_at_least_24_hours_apart() -> None:
    s = registry.schedule("national-9th-edition", "companion", at(2022, 7, 31, 19, 45))
    assert s.test_dates == (D(2022, 7, 31), D(2022, 8, 1))
    first, second = s.tests
    assert second.not_before - first.not_before == dt.timedelta(hours=24)
    assert second.not_before == at(2022, 8, 1, 19, 45)
    assert s.end_date == D(2022, 8, 2)
    assert s.checkins() == ()


def test_twice_daily_check_ins_at_8_and_16_from_the_start() -> None:
    s = registry.schedule("national-9th-edition", "high_risk_area_arrival", at(2022, 7, 1, 12))
    assert s.checkin_times == (dt.time(8), dt.time(16))
    checkins = s.checkins()
    assert checkins[0] == at(2022, 7, 1, 16)  # the 08:00 check-in of day 1 was before the start
    assert checkins[-1] == at(2022, 7, 7, 16)
    assert len(checkins) == 7 * 2 - 1


def test_a_classify_only_category_still_has_an_end_date() -> None:
    start = at(2022, 7, 1, 9, 5)
    s = registry.schedule("national-9th-edition", "red_code", start)
    assert (s.type, s.days, s.end_date, s.ends_at, s.tests, s.follow_on) == (
        MeasureType.NONE, 0, D(2022, 7, 1), start, (), None,
    )  # fmt: skip
    buyer = registry.schedule("national-9th-edition", "fever_medicine_buyer", start)
    assert (buyer.end_date, buyer.test_dates) == (D(2022, 7, 1), (D(2022, 7, 1),))


# ---- invariants --------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(SHANGHAI)
) | st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(dt.UTC)
)


def check_invariants(s: Schedule) -> None:
    tz = s.start.tzinfo
    assert s.end_date >= s.start_date
    assert s.ends_at >= s.start
    if s.days:
        assert (s.end_date - s.start_date).days == s.days - 1
        assert s.ends_at == dt.datetime.combine(s.end_date + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    for t in s.tests:
        assert s.start_date <= t.date <= s.end_date
        assert (t.date - s.start_date).days == t.day - 1
        assert t.not_before >= s.start and t.not_before.date() == t.date
    for a, b in zip(s.tests, s.tests[1:], strict=False):
        assert b.not_before - a.not_before >= dt.timedelta(hours=s.measure.min_test_interval_hours)
    for c in s.checkins():
        assert s.start <= c < s.ends_at
    if s.follow_on is not None:
        assert s.follow_on.start_date == s.end_date + dt.timedelta(days=1)
        assert s.follow_on.start == s.ends_at
        assert s.final_end_date >= s.follow_on.end_date > s.end_date
        check_invariants(s.follow_on)


@settings(max_examples=150, deadline=None)
@given(start=starts, data=st.data())
def test_schedules_of_shipped_categories_keep_their_invariants(
    start: dt.datetime, data: st.DataObject
) -> None:
    protocol = data.draw(st.sampled_from(registry.list_protocols()))
    key = data.draw(st.sampled_from(sorted(protocol.categories)))
    s = registry.schedule(protocol, key, start)
    assert s.start.tzinfo == SHANGHAI and s.start == start
    assert len(s.tests) == len(protocol.category(key).measure.test_days)
    check_invariants(s)


@st.composite
def measures(draw: st.DrawFn, depth: int = 0) -> Measure:
    days = draw(st.integers(min_value=1, max_value=30))
    test_days = tuple(sorted(draw(st.sets(st.integers(min_value=1, max_value=days), max_size=days))))
    gaps = [b - a for a, b in itertools.pairwise(test_days)]
    interval = draw(st.integers(min_value=0, max_value=24 * min(gaps))) if gaps else 0
    times = tuple(
        sorted(draw(st.sets(st.times().map(lambda t: t.replace(second=0, microsecond=0)), max_size=4)))
    )
    follow_on = draw(st.none() | measures(depth + 1)) if depth < 2 else None
    mtype = draw(st.sampled_from([m for m in MeasureType if m != MeasureType.NONE]))
    return Measure(mtype, days, test_days, times, interval, follow_on)


@settings(max_examples=150, deadline=None)
@given(measure=measures(), start=starts)
def test_generated_measures_keep_their_invariants(measure: Measure, start: dt.datetime) -> None:
    s = lay_out("p", "c", measure, start.astimezone(SHANGHAI))
    check_invariants(s)
    assert sum(p.days for p in s.phases()) == measure.total_days
    assert (s.final_end_date - s.start_date).days == measure.total_days - 1


@pytest.mark.parametrize("category", ["close_contact", "secondary_contact", "companion"])
def test_a_date_and_its_midnight_give_the_same_schedule(category: str) -> None:
    a = registry.schedule("national-9th-edition", category, D(2022, 7, 31))
    b = registry.schedule("national-9th-edition", category, at(2022, 7, 31))
    assert a == b
