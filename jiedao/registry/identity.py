"""Filling a Person's identity columns from raw input: normalised document number and phone, their
blind indexes and masks, and sex and birth date derived from a resident ID. Used by actions, the
importer and the demo builder alike, so the rules live in one place."""

from __future__ import annotations

from django.utils.translation import gettext as _

from jiedao.core.crypto import blind_index
from jiedao.core.errors import InvalidInput
from jiedao.core.identity import mask_id, mask_phone, normalize_mobile, parse_resident_id
from jiedao.registry.choices import IdType, Sex
from jiedao.registry.models import Person

MAX_DOCUMENT_LENGTH = 30  # the masked column holds 32


def id_lookup_key(id_type: str, number: str) -> str:
    return blind_index(f"id:{id_type}", number)


def phone_lookup_key(phone: str) -> str:
    return blind_index("phone", phone)


def normalize_document(id_type: str, raw: object) -> str:
    """Validated, normalised document number (raises InvalidInput naming the wrong part)."""
    if id_type == IdType.RESIDENT_ID:
        return parse_resident_id(raw).number
    text = ("" if raw is None else str(raw)).strip().upper().replace(" ", "")
    if len(text) > MAX_DOCUMENT_LENGTH:
        # Passports and permits are at most 18 characters; longer is a pasted cell, not a number.
        raise InvalidInput(
            _("The document number is longer than %(n)s characters.") % {"n": MAX_DOCUMENT_LENGTH},
            field="id_number",
        )
    return text


def apply_identity(person: Person, *, id_type: str, id_number: object, phone: object = "") -> Person:
    """Set document, phone, indexes, masks and (for resident IDs) sex and birth date on `person`.
    Validation errors propagate as InvalidInput with `field` set."""
    person.id_type = id_type
    if id_type == IdType.RESIDENT_ID:
        rid = parse_resident_id(id_number)  # parsed once: number, sex and birth date together
        number = rid.number
        person.sex = Sex.MALE if rid.sex == "M" else Sex.FEMALE
        person.birth_date = rid.birth_date
    else:
        number = normalize_document(id_type, id_number) if id_type != IdType.NONE else ""
    person.id_number = number
    person.id_index = id_lookup_key(id_type, number) if number else ""
    person.id_masked = mask_id(number)
    text_phone = "" if phone is None else str(phone).strip()
    normalized = normalize_mobile(text_phone) if text_phone else ""
    person.phone = normalized
    person.phone_index = phone_lookup_key(normalized) if normalized else ""
    person.phone_masked = mask_phone(normalized)
    return person
