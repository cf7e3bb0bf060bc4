"""Identity numbers: GB 11643 resident IDs, mainland mobile numbers and GB 32100 unified social
credit codes. Each check says which part is wrong, so a clerk can fix the row."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from jiedao.core.errors import InvalidInput

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Province-level codes of GB/T 2260 (the first two digits of a resident ID).
PROVINCE_CODES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83", "91",
}  # fmt: skip
_SCI = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


@dataclass(frozen=True)
class ResidentId:
    number: str
    region: str
    birth_date: dt.date
    sex: str  # "M" or "F", from the parity of the sequence digits

    def __str__(self) -> str:
        return self.number


def id_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def parse_resident_id(raw: object, *, today: dt.date | None = None) -> ResidentId:
    """Validate an 18-character resident ID and return its parts, or raise InvalidInput saying which
    part is wrong (length, characters, region prefix, birth date, checksum, or Excel damage)."""
    text = ("" if raw is None else str(raw)).strip().replace(" ", "").upper()
    if not text:
        raise InvalidInput("身份证号为空 / the resident ID is empty", field="id_number")
    if _SCI.match(text):
        raise InvalidInput(
            f"身份证号“{text}”被 Excel 转成了科学计数法，后几位已丢失；请把该列设为文本格式后重新填写 / "
            "the ID was turned into a number by Excel (scientific notation) and its last digits are lost: "
            "format the column as text and enter it again",
            field="id_number",
        )
    if text.endswith(".0") and text[:-2].isdigit():
        raise InvalidInput(
            f"身份证号“{text}”被 Excel 当成了数字，末位可能已失真；请把该列设为文本格式 / "
            "the ID was stored as a number by Excel and its last digits may be wrong: format the column as text",
            field="id_number",
        )
    if len(text) == 15 and text.isdigit():
        raise InvalidInput(
            "这是 15 位的一代身份证号，请填写 18 位号码 / a 15-digit first-generation ID: use the 18-digit number",
            field="id_number",
        )
    if len(text) == 17 and text.isdigit() and id_check_char(text) == "X":
        raise InvalidInput(
            "身份证号只有 17 位，末位的 X 丢失了 / the ID has 17 characters: its final X is missing",
            field="id_number",
        )
    if len(text) != 18:
        raise InvalidInput(
            f"身份证号应为 18 位，这里是 {len(text)} 位 / the ID must have 18 characters, this one has {len(text)}",
            field="id_number",
        )
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise InvalidInput(
            "身份证号前 17 位须为数字，末位为数字或 X / the first 17 characters must be digits and the last a digit or X",
            field="id_number",
        )
    region = text[:6]
    if region[:2] not in PROVINCE_CODES or region[2:] == "0000":
        raise InvalidInput(
            f"身份证号的地区码 {region} 不存在 / region prefix {region} is not a valid area code",
            field="id_number",
        )
    try:
        birth = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidInput(
            f"身份证号中的出生日期 {text[6:14]} 不是真实日期 / birth date {text[6:14]} does not exist",
            field="id_number",
        )
    today = today or dt.date.today()
    if birth > today or birth.year < 1900:
        raise InvalidInput(
            f"身份证号中的出生日期 {birth.isoformat()} 不合理 / birth date {birth.isoformat()} is out of range",
            field="id_number",
        )
    expected = id_check_char(text[:17])
    if text[17] != expected:
        raise InvalidInput(
            f"身份证号校验位错误：末位应为 {expected}，填写的是 {text[17]} / checksum digit is wrong: "
            f"expected {expected}, got {text[17]}",
            field="id_number",
        )
    sex = "M" if int(text[16]) % 2 else "F"
    return ResidentId(number=text, region=region, birth_date=birth, sex=sex)


def is_valid_resident_id(raw: object) -> bool:
    try:
        parse_resident_id(raw)
    except InvalidInput:
        return False
    return True


_PHONE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(raw: object) -> str:
    """A mainland mobile number as 11 digits; accepts +86/0086 prefixes, spaces and hyphens."""
    text = re.sub(r"[\s\-()]", "", "" if raw is None else str(raw))
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]  # Excel stored it as a number; 11 digits survive a float intact
    for prefix in ("+86", "0086", "86"):
        if text.startswith(prefix) and len(text) == len(prefix) + 11:
            text = text[len(prefix) :]
            break
    if not text:
        raise InvalidInput("手机号为空 / the mobile number is empty", field="phone")
    if not text.isdigit():
        raise InvalidInput(f"手机号“{text}”含有非数字字符 / the mobile number has non-digits", field="phone")
    if len(text) != 11:
        raise InvalidInput(
            f"手机号应为 11 位，这里是 {len(text)} 位 / a mobile number has 11 digits, this one has {len(text)}",
            field="phone",
        )
    if not _PHONE.match(text):
        raise InvalidInput(
            f"手机号“{text}”的号段不存在（应以 13–19 开头）/ the mobile prefix is not valid (must start 13–19)",
            field="phone",
        )
    return text


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def normalize_credit_code(raw: object) -> str:
    """Validate a GB 32100 unified social credit code (18 characters, with its check character)."""
    text = ("" if raw is None else str(raw)).strip().replace(" ", "").upper()
    if len(text) != 18:
        raise InvalidInput(
            f"统一社会信用代码应为 18 位，这里是 {len(text)} 位 / the credit code must have 18 characters, "
            f"this one has {len(text)}",
            field="credit_code",
        )
    bad = sorted({c for c in text if c not in _CREDIT_CHARS})
    if bad:
        raise InvalidInput(
            f"统一社会信用代码含有不允许的字符 {''.join(bad)}（不使用 I、O、Z、S、V）/ "
            f"the credit code contains characters it never uses: {''.join(bad)}",
            field="credit_code",
        )
    if not text[2:8].isdigit():
        raise InvalidInput(
            "统一社会信用代码第 3–8 位应为行政区划码 / characters 3–8 must be the area code",
            field="credit_code",
        )
    expected = credit_check_char(text[:17])
    if text[17] != expected:
        raise InvalidInput(
            f"统一社会信用代码校验位错误：应为 {expected}，填写的是 {text[17]} / checksum character is wrong: "
            f"expected {expected}, got {text[17]}",
            field="credit_code",
        )
    return text


def mask_id(number: str) -> str:
    """5101**********123X: region's first four and last four stay visible."""
    if not number:
        return ""
    if len(number) <= 8:
        return number[:1] + "*" * (len(number) - 1)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(number: str) -> str:
    if not number:
        return ""
    if len(number) < 7:
        return "*" * len(number)
    return number[:3] + "****" + number[-4:]


def mask_name(name: str) -> str:
    if not name:
        return ""
    if len(name) == 1:
        return name
    return name[0] + "*" * (len(name) - 1)
