"""A malformed protocol is refused with InvalidInput naming the file and the key path of the fault.

Each case breaks one key of the shipped national protocol (written to a temporary directory under the
same name) and checks the error's key path and wording."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from jiedao.core.errors import InvalidInput
from jiedao.protocols.choices import MeasureType
from jiedao.protocols.loader import Library
from jiedao.protocols.schema import ProtocolError
from jiedao.protocols.tests.helpers import DELETE, NATIONAL, national_doc, set_path

CC = "categories.close_contact"
CCM = f"{CC}.measure"

# (key path to change, new value or DELETE, key path the error must name, text the message must hold)
BROKEN: list[tuple[str, Any, str, str]] = [
    (f"{CCM}.days", "seven", f"{CCM}.days", 'expected a positive integer, got "seven"'),
    (f"{CCM}.days", 0, f"{CCM}.days", "expected a positive integer, got 0"),
    (f"{CCM}.days", True, f"{CCM}.days", "expected a positive integer, got true"),
    (f"{CCM}.days", 7.5, f"{CCM}.days", "expected a positive integer, got 7.5"),
    (f"{CCM}.days", DELETE, f"{CCM}.days", "required key is missing"),
    (f"{CCM}.dayz", 7, f"{CCM}.dayz", "unknown key; allowed: checkin_times, checkins_per_day, days, follow_on"),
    (f"{CCM}.type", "HOTEL", f"{CCM}.type",
     'unknown measure type "HOTEL"; allowed: CENTRAL_QUARANTINE, HOME_QUARANTINE, HOME_MONITORING, TWO_IN_THREE, NONE'),
    (f"{CCM}.type", DELETE, f"{CCM}.type", "required key is missing"),
    (f"{CCM}.test_days", [1, 2, 9], f"{CCM}.test_days", "day 9 is beyond the measure's 7 days"),
    (f"{CCM}.follow_on.test_days", [4], f"{CCM}.follow_on.test_days", "day 4 is beyond the measure's 3 days"),
    (f"{CCM}.test_days", [1, 1], f"{CCM}.test_days", "day 1 is listed twice"),
    (f"{CCM}.test_days", "1, 2", f"{CCM}.test_days", 'expected a list of day numbers, got "1, 2"'),
    (f"{CCM}.test_days", [1, "two"], f"{CCM}.test_days[1]", 'expected a positive integer, got "two"'),
    (f"{CCM}.test_days", [0, 1], f"{CCM}.test_days[0]", "expected a positive integer, got 0"),
    (f"{CCM}.follow_on.type", "REST", f"{CCM}.follow_on.type", 'unknown measure type "REST"'),
    (f"{CCM}.follow_on", "HOME_MONITORING", f"{CCM}.follow_on", 'expected a mapping of keys, got "HOME_MONITORING"'),
    (f"{CCM}.checkins_per_day", 25, f"{CCM}.checkins_per_day", "expected an integer from 0 to 24, got 25"),
    (f"{CCM}.checkin_times", ["08:00"], f"{CCM}.checkin_times", "give checkins_per_day or checkin_times, not both"),
    (CCM, "CENTRAL_QUARANTINE", CCM, 'expected a mapping of keys, got "CENTRAL_QUARANTINE"'),
    (CCM, DELETE, CCM, "required key is missing"),
    (f"{CC}.label.zh", DELETE, f"{CC}.label.zh", "required key is missing"),
    (f"{CC}.label.en", "  ", f"{CC}.label.en", "must not be empty"),
    (f"{CC}.verification_deadline_hours", "$nope", f"{CC}.verification_deadline_hours",
     'unknown parameter "$nope"; parameters: $checkin_span_hours'),
    (f"{CC}.verification_deadline_hours", "soon", f"{CC}.verification_deadline_hours",
     'expected a positive integer, got "soon"'),
    (f"{CC}.verification_deadline_hours", DELETE, f"{CC}.verification_deadline_hours", "required key is missing"),
    (f"{CC}.release.may_end_early", True, f"{CC}.release.may_end_early", "set linked_close_contact_negative_tests"),
    (f"{CC}.release.released", True, f"{CC}.release.released", "unknown key; allowed: all_tests_negative"),
    (f"{CC}.release.no_symptoms", "yes", f"{CC}.release.no_symptoms", 'expected true or false, got "yes"'),
    ("categories.secondary_contact.release.linked_close_contact_negative_tests", "two",
     "categories.secondary_contact.release.linked_close_contact_negative_tests", 'got "two"'),
    ("categories.red_code.release", {"all_tests_negative": True}, "categories.red_code.release.all_tests_negative",
     "the measure schedules no tests"),
    ("categories.red_code.classify_as", ["close_contact", "ghost"], "categories.red_code.classify_as[1]",
     'unknown category "ghost"'),
    ("categories.red_code.classify_as", ["red_code"], "categories.red_code.classify_as[0]",
     "a category cannot be classified as itself"),
    ("categories.red_code.measure.follow_on", {"type": "HOME_MONITORING", "days": 3},
     "categories.red_code.measure.follow_on", "a measure of 0 days has nothing to follow"),
    ("categories.red_code.measure.checkins_per_day", 2, "categories.red_code.measure.checkins_per_day",
     "a measure of 0 days has no check-ins"),
    ("categories.yellow_code.aliases", ["密接"], "categories.yellow_code",
     'the name "密接" already names category close_contact'),
    ("categories.companion.measure.test_days", [2], "categories.companion.measure.test_days",
     "TWO_IN_THREE needs at least two test days"),
    ("categories.companion.measure.min_test_interval_hours", 48, "categories.companion.measure.test_days",
     "test days 1 and 2 are closer than min_test_interval_hours (48 h)"),
    ("categories.companion.measure.checkin_times", ["16:00", "08:00"], "categories.companion.measure.checkin_times",
     "times must be in increasing order"),
    ("categories.companion.measure.checkin_times", ["8 am"], "categories.companion.measure.checkin_times[0]",
     'expected a time "HH:MM" (00:00 to 23:59), got "8 am"'),
    ("categories", [], "categories", "expected a mapping of categories, got []"),
    ("categories.Close Contact", {}, "categories.Close Contact", "expected a category key"),
    ("parameters.lookback_days", -1, "parameters.lookback_days", "expected a positive integer, got -1"),
    ("parameters.lookback_days", DELETE, "parameters.lookback_days", "required key is missing"),
    ("parameters.first_checkin_at", 960, "parameters.first_checkin_at",
     'expected a time "HH:MM" in quotes, got the number 960'),
    ("parameters.checkin_span_hours", 30, "parameters.checkin_span_hours", "expected an integer from 1 to 24, got 30"),
    ("parameters.grace_hours", 5, "parameters.grace_hours", "not used: no category refers to $grace_hours"),
    ("parameters.grace_hours", "lots", "parameters.grace_hours", 'expected a whole number or a time "HH:MM"'),
    ("parameters", DELETE, "parameters", "required key is missing"),
    ("effective_from", DELETE, "effective_from", "required key is missing"),
    ("effective_from", "June 2022", "effective_from", 'expected a date (YYYY-MM-DD), got "June 2022"'),
    ("effective_until", "2022-01-01", "effective_until", "2022-01-01 is before effective_from 2022-06-27"),
    ("edition", 9, "edition", "unknown key; allowed: basis, categories, disease, effective_from"),
    ("disease", "COVID 19", "disease", 'expected a disease key such as covid19, got "COVID 19"'),
    ("title", "Ninth", "title", 'expected a mapping of keys, got "Ninth"'),
    ("supersedes", "national-9th-edition", "supersedes", "a protocol cannot refer to itself"),
]  # fmt: skip


def _load(tmp_path: Path, doc: Any, key: str = "national-9th-edition") -> Any:
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    (tmp_path / f"{key}.yaml").write_text(text, encoding="utf-8")
    return Library([tmp_path]).build(key)


@pytest.mark.parametrize(("path", "value", "where", "text"), BROKEN, ids=[f"{c[0]}={c[1]!r}" for c in BROKEN])
def test_a_broken_key_is_named(tmp_path: Path, path: str, value: Any, where: str, text: str) -> None:
    doc = set_path(national_doc(), path, value)
    with pytest.raises(InvalidInput) as exc:
        _load(tmp_path, doc)
    err = exc.value
    assert isinstance(err, ProtocolError)
    assert err.field == where
    assert err.message.startswith(f"national-9th-edition.yaml: {where}: "), err.message
    assert text in err.message, err.message


def test_the_unbroken_document_loads(tmp_path: Path) -> None:
    # The cases above fail because of their one change, not because the round trip loses something.
    p = _load(tmp_path, national_doc())
    assert p.category("close_contact").measure.days == 7


def test_the_message_reads_exactly_as_documented(tmp_path: Path) -> None:
    doc = set_path(national_doc(), f"{CCM}.days", "seven")
    with pytest.raises(InvalidInput) as exc:
        _load(tmp_path, doc)
    assert exc.value.message == (
        'national-9th-edition.yaml: categories.close_contact.measure.days: expected a positive integer, got "seven"'
    )
    assert exc.value.as_dict()["error"]["field"] == "categories.close_contact.measure.days"


def test_a_parameter_of_the_wrong_kind_is_named_where_it_is_used(tmp_path: Path) -> None:
    doc = set_path(national_doc(), "parameters.urgent_verification_hours", 0)
    with pytest.raises(InvalidInput) as exc:
        _load(tmp_path, doc)
    assert exc.value.field == f"{CC}.verification_deadline_hours"
    assert "got 0 (from parameters.urgent_verification_hours)" in exc.value.message


def test_a_none_measure_may_have_zero_days_but_others_may_not(tmp_path: Path) -> None:
    doc = national_doc()
    set_path(doc, f"{CCM}.type", "NONE")
    set_path(doc, f"{CCM}.days", 0)
    with pytest.raises(InvalidInput) as exc:  # its test days now lie beyond 0 days
        _load(tmp_path, doc)
    assert exc.value.field == f"{CCM}.test_days"
    assert "day 1 is beyond the measure's 0 days" in exc.value.message
    p = _load(tmp_path, set_path(national_doc(), "categories.red_code.measure.days", 0))
    assert p.category("red_code").measure.type == MeasureType.NONE


def test_follow_ons_cannot_nest_without_end(tmp_path: Path) -> None:
    text = NATIONAL.read_text(encoding="utf-8").replace(
        "      follow_on:\n        type: HOME_MONITORING\n",
        "      follow_on: &loop\n        follow_on: *loop\n        type: HOME_MONITORING\n",
    )
    assert "*loop" in text
    (tmp_path / "national-9th-edition.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        Library([tmp_path]).build("national-9th-edition")
    assert "follow-ons nest more than 5 deep" in exc.value.message
    assert exc.value.field is not None and exc.value.field.startswith(f"{CCM}.follow_on.follow_on")


# ---- errors found while reading the file --------------------------------------------------------

NATIONAL_TEXT = NATIONAL.read_text(encoding="utf-8")

TEXT_CASES: list[tuple[str, Callable[[str], str], str]] = [
    ("duplicate key", lambda t: t.replace("      days: 7\n", "      days: 7\n      days: 10\n", 1),
     f"not valid YAML: line {NATIONAL_TEXT.splitlines().index('      days: 7') + 2}, column 7: duplicate key 'days'"),
    ("unquoted time", lambda t: t.replace('first_checkin_at: "08:00"', "first_checkin_at: 16:00"),
     'parameters.first_checkin_at: expected a time "HH:MM" in quotes, got the number 960'),
    ("syntax", lambda t: t.replace("disease: covid19", "disease: [covid19"), "not valid YAML: line"),
    ("empty", lambda t: "# nothing yet\n", "the file is empty"),
    ("a list", lambda t: "- close_contact\n", "a protocol must be a mapping of keys at the top level"),
    ("a timestamp", lambda t: t.replace("effective_from: 2022-06-27", "effective_from: 2022-06-27 08:00:00"),
     "effective_from: expected a date (YYYY-MM-DD) without a time"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "edit", "text"), TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_file_level_faults_are_named(
    tmp_path: Path, name: str, edit: Callable[[str], str], text: str
) -> None:
    (tmp_path / "national-9th-edition.yaml").write_text(edit(NATIONAL_TEXT), encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        Library([tmp_path]).build("national-9th-edition")
    assert exc.value.message.startswith("national-9th-edition.yaml: ")
    assert text in exc.value.message, exc.value.message


def test_a_file_name_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "National 9.yaml").write_text(NATIONAL_TEXT, encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        Library([tmp_path])
    assert "National 9.yaml: the file name is the protocol key" in exc.value.message
