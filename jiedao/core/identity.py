"""Identity numbers: GB 11643 resident IDs, mainland mobile numbers and GB 32100 unified social
credit codes. Each check says which part is wrong, so a clerk can fix the row."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

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
        raise InvalidInput(_("The resident ID is empty."), field="id_number")
    if _SCI.match(text):
        raise InvalidInput(
            _(
                "The ID “%(text)s” was turned into a number by Excel (scientific notation) and its last "
                "digits are lost: format the column as text and enter it again."
            )
            % {"text": text},
            field="id_number",
        )
    if text.endswith(".0") and text[:-2].isdigit():
        raise InvalidInput(
            _(
                "The ID “%(text)s” was stored as a number by Excel and its last digits may be wrong: "
                "format the column as text."
            )
            % {"text": text},
            field="id_number",
        )
    if len(text) == 15 and text.isdigit():
        raise InvalidInput(
            _("This is a 15-digit first-generation ID: enter the 18-digit number."),
            field="id_number",
        )
    if len(text) == 17 and text.isdigit() and id_check_char(text) == "X":
        raise InvalidInput(
            _("The ID has only 17 characters: its final X is missing."),
            field="id_number",
        )
    if len(text) != 18:
        raise InvalidInput(
            _("The ID must have 18 characters; this one has %(n)s.") % {"n": len(text)},
            field="id_number",
        )
    if not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise InvalidInput(
            _("The first 17 characters of the ID must be digits and the last a digit or X."),
            field="id_number",
        )
    region = text[:6]
    if region[:2] not in PROVINCE_CODES or region[2:] == "0000":
        raise InvalidInput(
            _("The ID's region prefix %(region)s is not a valid area code.") % {"region": region},
            field="id_number",
        )
    try:
        birth = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidInput(
            _("The birth date %(date)s in the ID does not exist.") % {"date": text[6:14]},
            field="id_number",
        )
    today = today or dt.date.today()
    if birth > today or birth.year < 1900:
        raise InvalidInput(
            _("The birth date %(date)s in the ID is out of range.") % {"date": birth.isoformat()},
            field="id_number",
        )
    expected = id_check_char(text[:17])
    if text[17] != expected:
        raise InvalidInput(
            _("The ID's check digit is wrong: the last character should be %(expected)s, not %(got)s.")
            % {"expected": expected, "got": text[17]},
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
        raise InvalidInput(_("The mobile number is empty."), field="phone")
    if not text.isdigit():
        raise InvalidInput(
            _("The mobile number “%(text)s” contains characters that are not digits.") % {"text": text},
            field="phone",
        )
    if len(text) != 11:
        raise InvalidInput(
            _("A mobile number has 11 digits; this one has %(n)s.") % {"n": len(text)},
            field="phone",
        )
    if not _PHONE.match(text):
        raise InvalidInput(
            _("The prefix of the mobile number “%(text)s” does not exist (it must start with 13–19).")
            % {"text": text},
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
            _("The unified social credit code must have 18 characters; this one has %(n)s.")
            % {"n": len(text)},
            field="credit_code",
        )
    bad = sorted({c for c in text if c not in _CREDIT_CHARS})
    if bad:
        raise InvalidInput(
            _(
                "The unified social credit code contains characters it never uses: %(chars)s "
                "(I, O, Z, S and V are not used)."
            )
            % {"chars": "".join(bad)},
            field="credit_code",
        )
    if not text[2:8].isdigit():
        raise InvalidInput(
            _("Characters 3–8 of the unified social credit code must be the area code."),
            field="credit_code",
        )
    expected = credit_check_char(text[:17])
    if text[17] != expected:
        raise InvalidInput(
            _(
                "The check character of the unified social credit code is wrong: it should be %(expected)s, "
                "not %(got)s."
            )
            % {"expected": expected, "got": text[17]},
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
