"""The shipped protocols say what the 9th edition says, and the Chengdu example inherits the rest."""

from __future__ import annotations

import datetime as dt

import pytest

from jiedao.protocols import registry
from jiedao.protocols.choices import MeasureType
from jiedao.protocols.schema import Protocol

pytestmark = pytest.mark.usefixtures("fresh_registry")

GLOSSARY_CATEGORIES = {
    "close_contact", "secondary_contact", "companion", "high_risk_area_arrival", "medium_risk_area_arrival",
    "low_risk_area_arrival", "red_code", "yellow_code", "starred_itinerary", "fever_medicine_buyer",
    "positive_pool_member",  # the members of a positive pool (阳性混管, Tube.result = POSITIVE)
}  # fmt: skip


@pytest.fixture
def national() -> Protocol:
    return registry.get_protocol("national-9th-edition")


def test_the_national_protocol_is_the_default_covid19_9th_edition(national: Protocol) -> None:
    assert registry.get_protocol() is national
    assert national.disease == "covid19"
    assert national.effective_from == dt.date(2022, 6, 27)
    assert national.extends is None
    assert set(national.categories) == GLOSSARY_CATEGORIES
    assert "第九版" in national.title_zh


def test_close_contacts_7_days_central_then_3_days_home_monitoring(national: Protocol) -> None:
    m = national.category("close_contact").measure
    assert (m.type, m.days, m.test_days) == (MeasureType.CENTRAL_QUARANTINE, 7, (1, 2, 3, 5, 7))
    assert m.follow_on is not None
    assert (m.follow_on.type, m.follow_on.days, m.follow_on.test_days) == (
        MeasureType.HOME_MONITORING,
        3,
        (3,),
    )
    assert m.follow_on.follow_on is None
    assert m.total_days == 10
    assert m.checkin_times == (dt.time(8), dt.time(16))


def test_secondary_contacts_home_quarantine_released_after_linked_contacts_two_negatives(
    national: Protocol,
) -> None:
    c = national.category("secondary_contact")
    assert (c.measure.type, c.measure.days, c.measure.test_days) == (
        MeasureType.HOME_QUARANTINE,
        7,
        (1, 4, 7),
    )
    assert c.measure.follow_on is None
    assert c.release.linked_close_contact_negative_tests == 2
    assert c.release.may_end_early
    # Only secondary contacts depend on someone else's results.
    assert [k for k, v in national.categories.items() if v.release.linked_close_contact_negative_tests] == [
        "secondary_contact"
    ]


@pytest.mark.parametrize("key", ["companion", "low_risk_area_arrival"])
def test_two_tests_in_three_days_24_hours_apart(national: Protocol, key: str) -> None:
    m = national.category(key).measure
    assert (m.type, m.days, m.test_days, m.min_test_interval_hours) == (
        MeasureType.TWO_IN_THREE,
        3,
        (1, 2),
        24,
    )


@pytest.mark.parametrize(
    ("key", "mtype", "tests"),
    [
        ("high_risk_area_arrival", MeasureType.CENTRAL_QUARANTINE, (1, 2, 3, 5, 7)),
        ("medium_risk_area_arrival", MeasureType.HOME_QUARANTINE, (1, 4, 7)),
    ],
)
def test_risk_area_arrivals(national: Protocol, key: str, mtype: MeasureType, tests: tuple[int, ...]) -> None:
    m = national.category(key).measure
    assert (m.type, m.days, m.test_days, m.follow_on) == (mtype, 7, tests, None)


@pytest.mark.parametrize("key", ["red_code", "yellow_code", "starred_itinerary"])
def test_code_and_itinerary_lists_are_verified_then_classified(national: Protocol, key: str) -> None:
    c = national.category(key)
    assert c.classify_only
    assert c.classify_as and set(c.classify_as) <= set(national.categories) - {key}
    assert all(not national.categories[k].classify_only for k in c.classify_as)


def test_parameters_are_settings_and_deadlines_refer_to_them(national: Protocol) -> None:
    assert national.lookback_days == 4
    assert national.travel_history_days == 7
    urgent = national.parameters["urgent_verification_hours"]
    routine = national.parameters["routine_verification_hours"]
    assert urgent < routine
    assert national.category("close_contact").verification_deadline == dt.timedelta(hours=urgent)
    assert national.category("yellow_code").verification_deadline_hours == routine


def test_chengdu_variant_overrides_deadlines_and_inherits_measures(national: Protocol) -> None:
    chengdu = registry.get_protocol("chengdu-2022")
    assert chengdu.extends == "national-9th-edition"
    assert chengdu.disease == national.disease
    assert chengdu.parameters["urgent_verification_hours"] < national.parameters["urgent_verification_hours"]
    assert (
        chengdu.category("close_contact").verification_deadline_hours
        == chengdu.parameters["urgent_verification_hours"]
    )
    # The one category override: low-risk arrivals move to the urgent deadline, measure unchanged.
    low = chengdu.category("low_risk_area_arrival")
    assert low.verification_deadline_hours == chengdu.parameters["urgent_verification_hours"]
    assert low.measure == national.category("low_risk_area_arrival").measure
    for key in national.categories:
        assert chengdu.category(key).measure == national.category(key).measure
        assert chengdu.category(key).release == national.category(key).release
    assert chengdu.lookback_days == national.lookback_days


def test_names_in_pushed_lists_find_their_category(national: Protocol) -> None:
    assert national.category_for_name("密接").key == "close_contact"
    assert national.category_for_name(" 密接的密接 ").key == "secondary_contact"
    assert national.category_for_name("次密接").key == "secondary_contact"
    assert national.category_for_name("Spatio-temporal companion").key == "companion"
    assert national.category_for_name("close-contact").key == "close_contact"
    assert national.category_for_name("黄码").key == "yellow_code"
    assert national.category_for_name("密接者的朋友") is None
