"""What the shipped 9th-edition protocol proposes once a key person is reached."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import translation

from jiedao.core.errors import InvalidInput
from jiedao.protocols.registry import get_protocol
from jiedao.protocols.schema import Protocol
from jiedao.screening.proposal import NO_MEASURE, measure_start, propose

TODAY = dt.date(2022, 7, 10)


def days(start: dt.date, *offsets: int) -> tuple[dt.date, ...]:
    return tuple(start + dt.timedelta(days=d) for d in offsets)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def protocol() -> Protocol:
    return get_protocol("national-9th-edition")


def test_close_contact_from_the_day_after_the_last_exposure(protocol):
    p = propose(
        protocol, "close_contact", last_exposure=TODAY - dt.timedelta(days=2), symptoms=False, today=TODAY
    )
    assert p.proposed == "close_contact" and p.keys == {"close_contact", NO_MEASURE}
    [o] = p.options
    start = TODAY - dt.timedelta(days=1)
    # 7 days centralised quarantine (tests on days 1, 2, 3, 5, 7), then 3 days home health monitoring
    # (a test on its day 3): ten days in all.
    assert (o.start, o.end, o.passed) == (start, start + dt.timedelta(days=9), False)
    assert o.test_dates == days(start, 0, 1, 2, 4, 6, 9)
    assert o.measure == "Centralised quarantine → Home health monitoring"
    assert p.reasons == [] and not p.fever_clinic


def test_secondary_contact_and_companion(protocol):
    p = propose(protocol, "secondary_contact", last_exposure=None, symptoms=False, today=TODAY)
    [o] = p.options
    assert (o.start, o.end, o.test_dates) == (TODAY, TODAY + dt.timedelta(days=6), days(TODAY, 0, 3, 6))
    p = propose(protocol, "companion", last_exposure=None, symptoms=False, today=TODAY)
    [o] = p.options
    assert (o.end, o.test_dates, o.measure) == (
        TODAY + dt.timedelta(days=2),
        days(TODAY, 0, 1),
        "Two tests in three days",
    )


def test_without_a_known_exposure_the_measure_starts_today(protocol):
    assert measure_start(None, TODAY) == TODAY
    assert (
        propose(protocol, "close_contact", last_exposure=None, symptoms=False, today=TODAY).options[0].start
        == TODAY
    )


def test_an_exposure_today_starts_the_count_tomorrow(protocol):
    """Counting from the exposure as every other day is counted: starting today would release a day early."""
    assert measure_start(TODAY, TODAY) == TODAY + dt.timedelta(days=1)
    yesterday = propose(
        protocol, "close_contact", last_exposure=TODAY - dt.timedelta(days=1), symptoms=False, today=TODAY
    )
    today = propose(protocol, "close_contact", last_exposure=TODAY, symptoms=False, today=TODAY)
    assert today.options[0].end - yesterday.options[0].end == dt.timedelta(days=1)


def test_a_measure_that_would_be_over_proposes_nothing(protocol):
    p = propose(
        protocol, "close_contact", last_exposure=TODAY - dt.timedelta(days=11), symptoms=False, today=TODAY
    )
    [o] = p.options
    assert o.passed and o.end == TODAY - dt.timedelta(days=1)
    assert p.proposed == NO_MEASURE and o.end.isoformat() in p.reasons[0]
    # The last day still counts: exposed ten days ago, the measure ends today.
    p = propose(
        protocol, "close_contact", last_exposure=TODAY - dt.timedelta(days=10), symptoms=False, today=TODAY
    )
    assert p.proposed == "close_contact" and p.options[0].end == TODAY and not p.options[0].passed


def test_classify_only_categories_offer_their_classes(protocol):
    p = propose(protocol, "red_code", last_exposure=None, symptoms=False, today=TODAY)
    assert [o.key for o in p.options] == list(protocol.category("red_code").classify_as)
    assert "red_code" not in p.keys and "low_risk_area_arrival" not in p.keys and NO_MEASURE in p.keys
    assert p.proposed == "close_contact" and "classified" in p.reasons[0]
    assert p.option("companion") is not None and p.option("companion").end == TODAY + dt.timedelta(days=2)
    starred = propose(protocol, "starred_itinerary", last_exposure=None, symptoms=False, today=TODAY)
    assert [o.key for o in starred.options] == [
        "high_risk_area_arrival",
        "medium_risk_area_arrival",
        "low_risk_area_arrival",
    ]


def test_symptoms_send_the_person_to_the_fever_clinic(protocol):
    p = propose(protocol, "yellow_code", last_exposure=None, symptoms=True, today=TODAY)
    assert p.fever_clinic and any("fever clinic" in r for r in p.reasons)
    assert p.proposed == "secondary_contact"


def test_fever_medicine_buyers_get_one_test_on_the_day(protocol):
    p = propose(protocol, "fever_medicine_buyer", last_exposure=None, symptoms=False, today=TODAY)
    [o] = p.options
    assert (o.start, o.end, o.test_dates, o.passed) == (TODAY, TODAY, (TODAY,), False)


def test_an_unknown_category_is_refused(protocol):
    with pytest.raises(InvalidInput):
        propose(protocol, "orange_code", last_exposure=None, symptoms=False, today=TODAY)
