from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from jiedao.core.errors import InvalidInput
from jiedao.core.identity import (
    credit_check_char,
    id_check_char,
    mask_id,
    mask_phone,
    normalize_credit_code,
    normalize_mobile,
    parse_resident_id,
)

VALID = "11010519491231002X"  # the GB 11643 standard's own example


def test_valid_id_parts() -> None:
    rid = parse_resident_id(VALID)
    assert rid.birth_date == dt.date(1949, 12, 31)
    assert rid.sex == "F"
    assert rid.region == "110105"


def test_lowercase_x_and_spaces_are_normalised() -> None:
    assert parse_resident_id(" 11010519491231002x ").number == VALID


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("110105194912310021", "校验位"),
        ("110105194902300027", "出生日期"),
        ("990105194912310026", "地区码"),
        ("5.10116E+17", "科学计数法"),
        ("510116199001011234.0", "数字"),
        ("11010519491231002", "X 丢失"),
        ("1101051949123100", "18 位"),
        ("110105491231002", "15 位"),
        ("11010519491231A02X", "17 位须为数字"),
        ("", "为空"),
    ],
)
def test_wrong_ids_say_which_part_is_wrong(raw: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_resident_id(raw)
    assert needle in exc.value.message
    assert exc.value.field == "id_number"


def test_checksum_message_follows_the_active_language() -> None:
    wrong = VALID[:17] + "1"  # the standard's example ends in X
    with translation.override("en"), pytest.raises(InvalidInput) as en:
        parse_resident_id(wrong)
    assert "check digit is wrong" in en.value.message
    assert "should be X, not 1" in en.value.message
    assert not re.search(r"[\u4e00-\u9fff]", en.value.message)
    with translation.override("zh-hans"), pytest.raises(InvalidInput) as zh:
        parse_resident_id(wrong)
    assert zh.value.message == "身份证号校验位错误：末位应为 X，填写的是 1"
    assert en.value.field == zh.value.field == "id_number"


def test_future_birth_date_refused() -> None:
    first17 = "51011620990101123"
    with pytest.raises(InvalidInput, match="不合理"):
        parse_resident_id(first17 + id_check_char(first17))


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_any_generated_id_round_trips(birth: dt.date, seq: int) -> None:
    first17 = f"510116{birth:%Y%m%d}{seq:03d}"
    number = first17 + id_check_char(first17)
    rid = parse_resident_id(number)
    assert rid.birth_date == birth
    assert rid.sex == ("M" if seq % 2 else "F")
    # any single-digit change to the body breaks the checksum or the date
    broken = first17[:-1] + str((int(first17[-1]) + 1) % 10) + number[-1]
    with pytest.raises(InvalidInput):
        parse_resident_id(broken)


@pytest.mark.parametrize("raw", ["13800138000", "+86 138-0013-8000", "008613800138000", "13800138000.0"])
def test_mobile_normalised(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize(
    ("raw", "needle"), [("1380013800", "11 位"), ("12800138000", "号段"), ("1380013800a", "非数字")]
)
def test_mobile_refused(raw: str, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        normalize_mobile(raw)


def test_credit_code() -> None:
    body = "91510100MA6CXXXX"  # 16 chars; pad to 17 with a digit
    first17 = body + "1"
    code = first17 + credit_check_char(first17)
    assert normalize_credit_code(code.lower()) == code
    wrong = first17 + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InvalidInput, match="校验位"):
        normalize_credit_code(wrong)
    with pytest.raises(InvalidInput, match="不允许的字符"):
        normalize_credit_code("91510100MA6CXXXXIO")


def test_known_credit_code_checksum() -> None:
    # A published code (Huawei Technologies): 914403001922038216
    assert normalize_credit_code("914403001922038216") == "914403001922038216"


def test_masks() -> None:
    assert mask_id(VALID) == "1101**********002X"
    assert mask_phone("13800138000") == "138****8000"
