"""Local variants (`extends`): what merges, what replaces, what a variant must state itself, and the
faults (unknown base, cycles, a broken base) named against the right file. Also `supersedes`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jiedao.core.errors import InvalidInput
from jiedao.protocols.choices import MeasureType
from jiedao.protocols.loader import Library, load_file
from jiedao.protocols.registry import DATA_DIR
from jiedao.protocols.schema import Protocol
from jiedao.protocols.tests.helpers import national_doc, set_path

Write = Callable[[str, Any], Path]
Load = Callable[[str], Protocol]


def variant(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "extends": "national-9th-edition",
        "title": {"en": "Local variant", "zh": "本地方案"},
        "version": "local-1",
        "effective_from": dt.date(2022, 7, 15),
    }
    doc.update(extra)
    return doc


@pytest.fixture
def base(write: Write) -> Path:
    return write("national-9th-edition", national_doc())


def test_a_variant_inherits_everything_it_does_not_override(base: Path, write: Write, load: Load) -> None:
    write("local", variant())
    national, local = load("national-9th-edition"), load("local")
    assert local.extends == "national-9th-edition"
    assert local.effective_from == dt.date(2022, 7, 15) != national.effective_from
    assert local.title_en == "Local variant"
    assert local.disease == national.disease
    assert dict(local.parameters) == dict(national.parameters)
    assert dict(local.categories) == dict(national.categories)
    assert local.basis == ""  # the base's basis describes the base document


def test_a_parameter_override_reaches_every_category_that_refers_to_it(
    base: Path, write: Write, load: Load
) -> None:
    write("local", variant(parameters={"urgent_verification_hours": 2, "lookback_days": 2}))
    national, local = load("national-9th-edition"), load("local")
    assert local.lookback_days == 2
    assert local.travel_history_days == national.travel_history_days
    for key, cat in national.categories.items():
        expected = 2 if cat.verification_deadline_hours == 12 else cat.verification_deadline_hours
        assert local.category(key).verification_deadline_hours == expected


def test_a_category_override_merges_key_by_key_and_lists_replace(
    base: Path, write: Write, load: Load
) -> None:
    write(
        "local",
        variant(categories={"close_contact": {"measure": {"days": 10, "test_days": [1, 4, 7, 10]}}}),
    )
    national, local = load("national-9th-edition"), load("local")
    m, n = local.category("close_contact").measure, national.category("close_contact").measure
    assert (m.type, m.days, m.test_days) == (MeasureType.CENTRAL_QUARANTINE, 10, (1, 4, 7, 10))
    assert m.follow_on == n.follow_on  # nested keys not given are inherited
    assert m.checkin_times == n.checkin_times
    assert local.category("close_contact").label_zh == "密切接触者"
    assert local.category("secondary_contact") == national.category("secondary_contact")


def test_null_removes_and_new_categories_add(base: Path, write: Write, load: Load) -> None:
    new = {
        "label": {"en": "Inbound traveller", "zh": "入境人员"},
        "verification_deadline_hours": "$urgent_verification_hours",
        "measure": {"type": "CENTRAL_QUARANTINE", "days": 7, "test_days": [1, 2, 3, 5, 7],
                    "follow_on": {"type": "HOME_MONITORING", "days": 3, "test_days": [3]}},
    }  # fmt: skip
    write(
        "local",
        variant(categories={
            "close_contact": {"measure": {"follow_on": None}},
            "fever_medicine_buyer": None,
            "inbound_traveller": new,
        }),
    )  # fmt: skip
    local = load("local")
    assert local.category("close_contact").measure.follow_on is None
    assert "fever_medicine_buyer" not in local.categories
    assert local.category("inbound_traveller").measure.total_days == 10
    assert local.category("inbound_traveller").verification_deadline_hours == 12


def test_a_variant_of_a_variant(base: Path, write: Write, load: Load) -> None:
    write("city", variant(parameters={"urgent_verification_hours": 6}))
    grandchild = variant(extends="city", version="district-1", effective_from="2022-08-01")
    grandchild["categories"] = {"companion": {"measure": {"min_test_interval_hours": 12}}}
    write("district", grandchild)
    district = load("district")
    assert district.extends == "city"
    assert district.category("close_contact").verification_deadline_hours == 6
    assert district.category("companion").measure.min_test_interval_hours == 12
    assert district.category("companion").measure.test_days == (1, 2)


def _fails(load: Load, key: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        load(key)
    return exc.value


@pytest.mark.parametrize(
    ("doc", "where", "text"),
    [
        (variant(effective_from=None), "effective_from", "required key is missing (a variant of national-9th-edition"),
        (variant(title=None), "title", "required key is missing"),
        (variant(title={"en": "Half a title"}), "title.zh", "required key is missing"),
        (variant(disease="influenza"), "disease", "cannot change the disease"),
        (variant(edition=2), "edition", "unknown key"),
        (variant(parameters=[1]), "parameters", "expected a mapping of keys"),
        (variant(categories={"ghost": None}), "categories.ghost", "cannot remove a category national-9th-edition"),
        (variant(extends="national-8th-edition"), "extends", "unknown protocol 'national-8th-edition'"),
        (variant(extends=9), "extends", "expected a protocol key, got 9"),
        (variant(parameters={"lookbak_days": 2}), "parameters.lookbak_days", "not used"),
        (variant(categories={"close_contact": {"measure": {"days": 5}}}),
         "categories.close_contact.measure.test_days", "day 7 is beyond the measure's 5 days"),
        (variant(categories={"companion": {"measure": {"type": "SEALED"}}}),
         "categories.companion.measure.type", 'unknown measure type "SEALED"'),
        (variant(categories={"new_kind": {"measure": {"type": "NONE"}}}),
         "categories.new_kind.label", "required key is missing"),
    ],
)  # fmt: skip
def test_variant_faults_are_named_against_the_variant(
    base: Path, write: Write, load: Load, doc: dict[str, Any], where: str, text: str
) -> None:
    write("local", doc)
    err = _fails(load, "local")
    assert err.message.startswith(f"local.yaml: {where}: "), err.message
    assert text in err.message, err.message


def test_extends_cycles_are_refused(write: Write, load: Load) -> None:
    write("alpha", variant(extends="beta"))
    write("beta", variant(extends="alpha"))
    err = _fails(load, "alpha")
    assert err.field == "extends"
    assert "cycle: alpha → beta → alpha" in err.message
    write("gamma", variant(extends="gamma"))
    err = _fails(load, "gamma")
    assert err.message == "gamma.yaml: extends: cycle: gamma → gamma"


def test_a_broken_base_is_reported_against_its_own_file(write: Write, load: Load) -> None:
    write("national-9th-edition", set_path(national_doc(), "categories.close_contact.measure.days", "seven"))
    write("local", variant())
    err = _fails(load, "local")
    assert err.message.startswith("national-9th-edition.yaml: categories.close_contact.measure.days: ")


def test_a_key_in_two_directories_is_refused(tmp_path: Path, write: Write) -> None:
    write("national-9th-edition", national_doc())
    with pytest.raises(InvalidInput) as exc:
        Library([DATA_DIR, tmp_path])
    assert "protocol national-9th-edition is defined twice" in exc.value.message


def test_load_file_resolves_extends_against_the_shipped_protocols(tmp_path: Path, write: Write) -> None:
    path = write("local", variant(parameters={"routine_verification_hours": 36}))
    local = load_file(path, dirs=[DATA_DIR])
    assert local.category("yellow_code").verification_deadline_hours == 36
    # An edited copy of a shipped protocol is checked as written, not shadowed by the shipped one.
    copy = write("national-9th-edition", set_path(national_doc(), "parameters.lookback_days", 2))
    assert load_file(copy, dirs=[DATA_DIR]).lookback_days == 2


# ---- supersedes -------------------------------------------------------------------------------


def successor(**extra: Any) -> dict[str, Any]:
    doc = set_path(national_doc(), "title", {"en": "10th edition", "zh": "第十版"})
    doc.update({"version": "10", "effective_from": dt.date(2023, 1, 8), "supersedes": "national-9th-edition"})
    doc.update(extra)
    return doc


def test_a_successor_loads(base: Path, write: Write) -> None:
    write("national-10th-edition", successor())
    protocols = Library([base.parent]).build_all()
    assert protocols["national-10th-edition"].supersedes == "national-9th-edition"


@pytest.mark.parametrize(
    ("doc", "text"),
    [
        (successor(supersedes="national-8th-edition"), "supersedes: unknown protocol 'national-8th-edition'"),
        (
            successor(effective_from=dt.date(2022, 6, 1)),
            "national-9th-edition takes effect on 2022-06-27, not before",
        ),
        (successor(disease="influenza"), "national-9th-edition is a protocol for covid19, not influenza"),
    ],
)
def test_bad_successors_are_refused(base: Path, write: Write, doc: dict[str, Any], text: str) -> None:
    write("national-10th-edition", doc)
    with pytest.raises(InvalidInput) as exc:
        Library([base.parent]).build_all()
    assert exc.value.message.startswith("national-10th-edition.yaml: supersedes: ")
    assert text in exc.value.message, exc.value.message


def test_a_line_of_versions_never_forks(base: Path, write: Write) -> None:
    write("national-10th-edition", successor())
    write("national-10th-edition-bis", successor(effective_from=dt.date(2023, 2, 1)))
    with pytest.raises(InvalidInput) as exc:
        Library([base.parent]).build_all()
    assert "national-9th-edition is already superseded by national-10th-edition" in exc.value.message
