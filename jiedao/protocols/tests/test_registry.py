"""get_protocol / list_protocols / verification_due: which protocol applies, the default setting,
local directories, versions in force by date, and the cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from jiedao.core.errors import InvalidInput, NotFound
from jiedao.protocols import registry
from jiedao.protocols.checks import check_protocols
from jiedao.protocols.tests.helpers import national_doc, set_path

pytestmark = pytest.mark.usefixtures("fresh_registry")
SHANGHAI = ZoneInfo("Asia/Shanghai")
Write = Callable[[str, Any], Path]


def test_list_protocols_has_both_shipped_files_in_date_order() -> None:
    keys = [p.key for p in registry.list_protocols()]
    assert keys == ["national-9th-edition", "chengdu-2022"]


def test_the_default_follows_the_setting() -> None:
    assert registry.get_protocol().key == "national-9th-edition"
    with override_settings(JIEDAO_PROTOCOL="chengdu-2022"):
        assert registry.get_protocol().key == "chengdu-2022"
        assert registry.get_protocol(on=dt.date(2022, 7, 1)).key == "chengdu-2022"
    with (
        override_settings(JIEDAO_PROTOCOL="national-8th-edition"),
        pytest.raises(ImproperlyConfigured) as exc,
    ):
        registry.get_protocol()
    assert "national-8th-edition" in str(exc.value) and "national-9th-edition" in str(exc.value)


def test_unknown_keys_and_dates_before_the_protocol_are_not_found() -> None:
    with pytest.raises(NotFound) as exc:
        registry.get_protocol("national-8th-edition")
    assert "known: chengdu-2022, national-9th-edition" in exc.value.message
    with pytest.raises(NotFound) as exc:
        registry.get_protocol(on=dt.date(2022, 6, 26))
    assert "in force on 2022-06-26" in exc.value.message and "from 2022-06-27" in exc.value.message
    assert registry.get_protocol(on=dt.date(2022, 6, 27)).key == "national-9th-edition"
    with pytest.raises(NotFound):
        registry.get_protocol("chengdu-2022", on=dt.date(2022, 6, 30))


def _local_dir(tmp_path: Path, write: Write) -> Path:
    tenth = set_path(national_doc(), "title", {"en": "10th edition", "zh": "第十版"})
    tenth.update(
        {"version": "10", "effective_from": dt.date(2023, 1, 8), "supersedes": "national-9th-edition"}
    )
    set_path(tenth, "categories.close_contact.measure.days", 5)
    set_path(tenth, "categories.close_contact.measure.test_days", [1, 3, 5])
    write("national-10th-edition", tenth)
    return tmp_path


def test_a_local_directory_adds_a_successor_applied_from_its_date(tmp_path: Path, write: Write) -> None:
    with override_settings(JIEDAO_PROTOCOL_DIRS=[str(_local_dir(tmp_path, write))]):
        assert "national-10th-edition" in registry.all_protocols()
        assert registry.get_protocol(on=dt.date(2023, 1, 7)).key == "national-9th-edition"
        assert registry.get_protocol(on=dt.date(2023, 1, 8)).key == "national-10th-edition"
        assert (
            registry.get_protocol("national-9th-edition", on=dt.date(2023, 3, 1)).key
            == "national-10th-edition"
        )
        assert (
            registry.get_protocol("national-10th-edition", on=dt.date(2022, 7, 1)).key
            == "national-9th-edition"
        )
        # Without a date, a key is exactly that protocol: a case keeps the version it was opened under.
        assert registry.get_protocol("national-9th-edition").key == "national-9th-edition"
        assert [p.key for p in registry.line_of(registry.get_protocol("national-9th-edition"))] == [
            "national-9th-edition", "national-10th-edition",
        ]  # fmt: skip
    # The setting may also be one string of paths.
    with override_settings(JIEDAO_PROTOCOL_DIRS=str(tmp_path)):
        assert "national-10th-edition" in registry.all_protocols()
    assert "national-10th-edition" not in registry.all_protocols()


def test_effective_until_ends_a_protocol(tmp_path: Path, write: Write) -> None:
    local = _local_dir(tmp_path, write)
    (local / "national-10th-edition.yaml").unlink()
    doc = {
        "extends": "national-9th-edition", "title": {"en": "Summer rules", "zh": "夏季方案"}, "version": "s1",
        "effective_from": dt.date(2022, 7, 1), "effective_until": dt.date(2022, 8, 31),
    }  # fmt: skip
    write("summer-2022", doc)
    with override_settings(JIEDAO_PROTOCOL_DIRS=[str(local)], JIEDAO_PROTOCOL="summer-2022"):
        assert registry.get_protocol(on=dt.date(2022, 8, 31)).key == "summer-2022"
        with pytest.raises(NotFound) as exc:
            registry.get_protocol(on=dt.date(2022, 9, 1))
        assert "until 2022-08-31" in exc.value.message


def test_loaded_protocols_are_cached_until_cleared(tmp_path: Path, write: Write) -> None:
    write("national-10th-edition", set_path(national_doc(), "version", "10"))
    path = tmp_path / "national-10th-edition.yaml"
    with override_settings(JIEDAO_PROTOCOL_DIRS=[str(tmp_path)]):
        first = registry.get_protocol("national-10th-edition")
        assert registry.get_protocol("national-10th-edition") is first
        path.write_text(
            path.read_text(encoding="utf-8").replace("version: '10'", "version: '10.1'"), encoding="utf-8"
        )
        assert registry.get_protocol("national-10th-edition").version == "10"
        registry.clear_cache()
        assert registry.get_protocol("national-10th-edition").version == "10.1"


def test_verification_due_counts_hours_from_the_push() -> None:
    pushed = dt.datetime(2022, 6, 30, 22, 15, tzinfo=SHANGHAI)
    assert registry.verification_due(
        "national-9th-edition", "close_contact", pushed
    ) == pushed + dt.timedelta(hours=12)
    assert registry.verification_due("chengdu-2022", "close_contact", pushed) == pushed + dt.timedelta(
        hours=2
    )
    p = registry.get_protocol("national-9th-edition")
    due = registry.verification_due(p, p.category("yellow_code"), pushed)
    assert due == dt.datetime(2022, 7, 1, 22, 15, tzinfo=SHANGHAI)
    assert due.tzinfo is not None


def test_an_unknown_category_is_invalid_input_naming_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as exc:
        registry.schedule("national-9th-edition", "household_contact", dt.date(2022, 7, 1))
    assert exc.value.field == "category"
    assert '"household_contact"' in exc.value.message and "close_contact" in exc.value.message


def test_the_system_check_reports_broken_files_and_a_bad_setting(tmp_path: Path, write: Write) -> None:
    assert check_protocols() == []
    with override_settings(JIEDAO_PROTOCOL="nope"):
        assert [e.id for e in check_protocols()] == ["protocols.E002"]
    write("broken", set_path(national_doc(), "disease", "COVID 19"))
    with override_settings(JIEDAO_PROTOCOL_DIRS=[str(tmp_path)]):
        errors = check_protocols()
    assert [e.id for e in errors] == ["protocols.E001"]
    assert "broken.yaml: disease: " in errors[0].msg
