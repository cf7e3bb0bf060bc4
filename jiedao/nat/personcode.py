"""The person code: a short signed token printed as a QR on a card for people who have no phone or ID
card at hand (the elderly, children), which a sampler scans instead of a resident ID.

`JDP1.<person pk in base32>.<16 hex of a keyed HMAC>`: only upper-case letters, digits and dots, so
the QR uses its compact alphanumeric mode, and a keyboard-wedge scanner types it the same in either
case. No ID number is inside; without the key a code cannot be made or guessed (2⁶⁴ tries online)."""

from __future__ import annotations

import base64
import hmac
import re
from typing import Any

from django.utils.translation import gettext as _

from jiedao.core.crypto import blind_index
from jiedao.core.errors import InvalidInput
from jiedao.core.models import stamp_user
from jiedao.org.choices import Role
from jiedao.registry.models import Person

PREFIX = "JDP1."
MAC_CHARS = 16  # 64 bits of the HMAC: forging one means guessing it against the live server
_KIND = "person-code"  # keeps these digests apart from the ID-number and phone indexes
_SHAPE = re.compile(r"JDP1\.([A-Z2-7]{1,13})\.([0-9A-F]{" + str(MAC_CHARS) + "})")
FIELD = "person_code"
CARD_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER)  # print cards and void them


def _b32(pk: int) -> str:
    raw = pk.to_bytes((pk.bit_length() + 7) // 8 or 1, "big")
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def _pk(text: str) -> int:
    padded = text + "=" * (-len(text) % 8)
    return int.from_bytes(base64.b32decode(padded), "big")


def _mac(pk: int, card: int = 0) -> str:
    # the same keyed HMAC (HKDF-derived from JIEDAO_FIELD_KEY) that signs check-in links and ID lookups;
    # a person's first card signs the pk alone, each card after a voided one the pk and its number
    return blind_index(_KIND, str(pk) if card == 0 else f"{pk}:{card}")[:MAC_CHARS].upper()


def cards_in_use(pks: list[int]) -> dict[int, int]:
    """The card in use for each person: how many of theirs were voided (0 for most: one query)."""
    from django.db.models import Count

    from jiedao.nat.models import VoidedPersonCard

    voided = VoidedPersonCard.objects.filter(person_id__in=pks).values("person_id").annotate(n=Count("pk"))
    counts = {row["person_id"]: row["n"] for row in voided.order_by()}
    return {pk: counts.get(pk, 0) for pk in pks}


def person_code(person: Person, card: int | None = None) -> str:
    """The code printed on the person's card in use (the same every time: a reprint is the same card,
    until that card is voided)."""
    if not person.pk:
        raise ValueError("a person code needs a saved person")
    card = cards_in_use([person.pk])[person.pk] if card is None else card
    return f"{PREFIX}{_b32(person.pk)}.{_mac(person.pk, card)}"


def looks_like_person_code(text: Any) -> bool:
    return str(text or "").strip().upper().startswith(PREFIX)


def resolve_person_code(text: Any) -> Person:
    """The person a scanned code names, or InvalidInput (field person_code) saying what is wrong."""
    code = str(text or "").strip().upper()
    if not code:
        raise InvalidInput(_("The person code is empty."), field=FIELD)
    if not code.startswith(PREFIX):
        raise InvalidInput(
            _(
                "This is not a person code (they start with JDP1.): scan the card again or type the resident ID."
            ),
            field=FIELD,
        )
    match = _SHAPE.fullmatch(code)
    if match is None:
        raise InvalidInput(
            _("The person code is damaged: scan the card again or type the resident ID."), field=FIELD
        )
    try:
        pk = _pk(match.group(1))
    except ValueError:
        raise InvalidInput(
            _("The person code is damaged: scan the card again or type the resident ID."), field=FIELD
        ) from None
    card = cards_in_use([pk])[pk]
    if card and any(hmac.compare_digest(_mac(pk, old), match.group(2)) for old in range(card)):
        raise InvalidInput(
            _("This card was made void (lost or replaced): ask for the new card or type the resident ID."),
            field=FIELD,
        )
    if not hmac.compare_digest(_mac(pk, card), match.group(2)):
        # damaged in one character or made up: either way not a card this office printed
        raise InvalidInput(
            _(
                "The person code does not check out (damaged, or not printed by this office): type the resident ID."
            ),
            field=FIELD,
        )
    person = Person.objects.filter(pk=pk).first()
    if person is None:
        raise InvalidInput(
            _("The person code names no one on the register any more: type the resident ID."), field=FIELD
        )
    return person


def person_from_item(item: dict[str, Any]) -> Person | None:
    """For a registration item that carries `person_code`: its person (or InvalidInput on that field).
    None for an item without one, which is then looked up by its document number."""
    raw = item.get(FIELD)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raise InvalidInput(_("The person code is text."), field=FIELD)
    return resolve_person_code(raw)


def do_print_person_cards(*, actor: Any, persons: list[Person], filters: dict[str, Any]) -> list[str]:
    """The codes for a sheet of cards, on record: who printed cards for how many people, and which
    filters chose them (a card lets its holder be sampled as that person)."""
    from django.db import transaction

    from jiedao.core import audit

    cards = cards_in_use([p.pk for p in persons])
    codes = [person_code(p, cards[p.pk]) for p in persons]
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="nat.print_person_cards",
            object_type="registry.person",
            changes={"filters": filters, "cards": len(codes)},
        )
    return codes


def do_void_person_card(*, actor: Any, person: Person, reason: str) -> int:
    """Make the person's card in use void (lost, or handed to someone else): its code is refused from
    now on, and the next card printed for them has a new code. Returns the new card's number. Only for
    a resident of the caller's area (else not found); the reason is required and on record."""
    from django.db import IntegrityError, transaction

    from jiedao.control.queries import can_in_area
    from jiedao.core import audit
    from jiedao.core.errors import NotFound
    from jiedao.nat.models import VoidedPersonCard

    if actor is not None and not can_in_area(actor, CARD_ROLES, person):
        raise NotFound(_("Not found."))
    reason = str(reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("Say why the card is made void (lost, given to someone else …)."), field="reason"
        )
    try:
        with transaction.atomic():
            card = cards_in_use([person.pk])[person.pk]
            VoidedPersonCard.objects.create(
                person=person,
                version=card,
                reason=reason[:200],
                created_by=stamp_user(actor),
            )
            audit.record(
                actor=actor,
                action="nat.void_person_card",
                obj=person,
                changes={"card": card},
                reason=reason[:200],
            )
    except IntegrityError:  # voided at the same moment by someone else: that is done already
        pass
    return cards_in_use([person.pk])[person.pk]
