"""Writes for places. Each is atomic, validates its input and leaves an audit entry.

Who may write (scope always applies; out of scope reads as not found):
- create and update: command (anywhere), community staff (their community), grid workers (their own
  grid — they survey the venues on their beat and must file a place in that grid);
- deactivate / reactivate: command and community staff only, because a deactivated place drops out of
  tracing and inspections; the page asks for confirmation and a reason;
- reveal a contact's phone: every viewer role but the auditor, with a reason, audited;
- inspectors, pharmacy clerks, enterprise liaisons and auditors read places but do not edit them.
`actor=None` is the system (demo builder, importers) and skips the role checks.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.core.identity import (
    mask_id,
    mask_phone,
    normalize_credit_code,
    normalize_mobile,
    parse_resident_id,
)
from jiedao.org.models import Community, Grid
from jiedao.places.choices import CONTACT_REVEALERS, PLACE_DEACTIVATORS, PLACE_EDITORS, PlaceKind
from jiedao.places.exports import places_workbook
from jiedao.places.models import Place, VenueCheckin
from jiedao.places.queries import viewer_scope
from jiedao.registry.choices import IdType
from jiedao.registry.identity import id_lookup_key

# Venue codes: a fixed prefix and characters nobody misreads on a poster (no 0/O, 1/I/L).
VENUE_CODE_PREFIX = "HY"
VENUE_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
VENUE_CODE_LENGTH = 8
_VENUE_CODE_ATTEMPTS = 12
# A landline: optional area code (0 + 2–3 digits), then 7–8 digits, optional extension.
_LANDLINE = re.compile(r"^(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?$")

EDITABLE_FIELDS = (
    "kind",
    "name",
    "address",
    "community",
    "grid",
    "contact_name",
    "credit_code",
    "lat",
    "lng",
)


def new_venue_code() -> str:
    return VENUE_CODE_PREFIX + "".join(secrets.choice(VENUE_CODE_ALPHABET) for _ in range(VENUE_CODE_LENGTH))


def _unique_venue_code() -> str:
    for _attempt in range(_VENUE_CODE_ATTEMPTS):
        code = new_venue_code()
        if not Place.objects.filter(venue_code=code).exists():
            return code
    # 31^8 ≈ 8.5e11 codes: reaching this means the generator is broken, not bad luck.
    raise Conflict(_("Could not find a free venue code; please try again."))


def normalize_contact_phone(raw: object) -> str:
    """A mobile (normalised to 11 digits) or a landline such as 028-85551234; empty stays empty."""
    text = re.sub(r"[\s()]", "", "" if raw is None else str(raw))
    if not text:
        return ""
    try:
        return normalize_mobile(text)
    except InvalidInput:
        pass
    if _LANDLINE.match(text.replace("—", "-")):
        return text
    raise InvalidInput(
        _("“%(value)s” is neither a mobile number (11 digits) nor a landline such as 028-85551234.")
        % {"value": text},
        field="contact_phone",
    )


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "kind" in out and out["kind"] not in PlaceKind.values:
        raise InvalidInput(_("Unknown kind of place: %(kind)s") % {"kind": out["kind"]}, field="kind")
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"]:
            raise InvalidInput(_("Give the place a name."), field="name")
        if len(out["name"]) > 200:
            raise InvalidInput(_("The name is longer than 200 characters."), field="name")
    for key, limit in (("address", 200), ("contact_name", 50)):
        if key in out:
            out[key] = (out[key] or "").strip()
            if len(out[key]) > limit:
                raise InvalidInput(
                    _("This is longer than %(limit)d characters.") % {"limit": limit}, field=key
                )
    if "credit_code" in out:
        raw = (out["credit_code"] or "").strip()
        out["credit_code"] = normalize_credit_code(raw) if raw else ""
    for key, low, high in (("lat", -90.0, 90.0), ("lng", -180.0, 180.0)):
        if out.get(key) is not None:
            try:
                value = float(out[key])
            except (TypeError, ValueError):
                raise InvalidInput(_("Not a number."), field=key)
            if not low <= value <= high:
                raise InvalidInput(
                    _("Must be between %(low)s and %(high)s.") % {"low": low, "high": high}, field=key
                )
            out[key] = value
    return out


def _check_unit(actor: Any, community: Community | None, grid: Grid | None) -> tuple[Community, Grid | None]:
    """The place's unit is valid and the actor may file places there."""
    if grid is not None:
        if community is None:
            community = grid.community
        elif grid.community_id != community.pk:
            raise InvalidInput(_("This grid belongs to another community."), field="grid")
    if community is None:
        raise InvalidInput(_("Choose the community the place belongs to."), field="community")
    if actor is None:
        return community, grid
    if not actor.has_role(*PLACE_EDITORS):
        raise Forbidden(_("Your roles may not edit places."))
    scope = actor.scope_for_role(*PLACE_EDITORS)
    if scope.everything or community.pk in scope.community_ids:
        return community, grid
    if grid is not None and grid.pk in scope.grid_ids:
        return community, grid
    if grid is None and Grid.objects.filter(pk__in=scope.grid_ids, community_id=community.pk).exists():
        # A grid worker of this community: they file places in their own grid only.
        raise InvalidInput(_("Choose your grid."), field="grid")
    raise NotFound(_("Community or grid not found."))


def _check_place_scope(actor: Any, place: Place, roles: tuple[str, ...], message: str) -> None:
    if actor is None:
        return
    if not actor.has_role(*roles):
        raise Forbidden(message)
    if not viewer_scope(actor).covers(place.community_id, place.grid_id):
        raise NotFound(_("Place not found."))
    if not actor.scope_for_role(*roles).covers(place.community_id, place.grid_id):
        raise Forbidden(message)


def _set_phone(place: Place, phone: str) -> None:
    place.contact_phone = phone
    place.contact_phone_masked = mask_phone(phone)


def do_create_place(
    *,
    actor: Any,
    kind: str,
    name: str,
    community: Community | None = None,
    grid: Grid | None = None,
    address: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    credit_code: str = "",
    lat: float | None = None,
    lng: float | None = None,
) -> Place:
    """File a new place with a fresh venue code."""
    data = _clean(
        {"kind": kind, "name": name, "address": address, "contact_name": contact_name,
         "credit_code": credit_code, "lat": lat, "lng": lng}
    )  # fmt: skip
    phone = normalize_contact_phone(contact_phone)
    community, grid = _check_unit(actor, community, grid)
    for _attempt in range(3):
        place = Place(**data, community=community, grid=grid, created_by=actor, updated_by=actor)
        _set_phone(place, phone)
        place.venue_code = _unique_venue_code()
        try:
            with transaction.atomic():
                place.save()
                audit.record(
                    actor=actor, action="places.create", obj=place,
                    changes={"kind": place.kind, "name": place.name, "community": community.code,
                             "grid": grid.code if grid else "", "venue_code": place.venue_code},
                )  # fmt: skip
        except IntegrityError:
            # Another request took the same code between our check and our insert: draw again.
            continue
        return place
    raise Conflict(_("Could not find a free venue code; please try again."))


def do_update_place(*, actor: Any, place: Place, reason: str = "", **changes: Any) -> Place:
    """Change any of EDITABLE_FIELDS and, when given non-empty, the contact phone. The venue code
    never changes: it is printed on posters."""
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"contact_phone"}
    if unknown:
        raise InvalidInput(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))})
    _check_place_scope(actor, place, PLACE_EDITORS, _("Your roles may not edit places."))
    phone = changes.pop("contact_phone", None)
    data = _clean(changes)
    if "community" in data or "grid" in data:
        # Moving to another community clears the grid unless a new one is given; a new grid brings
        # its own community.
        has_community = "community" in data
        grid = data.pop("grid") if "grid" in data else (None if has_community else place.grid)
        community = (
            data.pop("community") if has_community else (None if grid is not None else place.community)
        )
        community, grid = _check_unit(actor, community, grid)
        data["community"], data["grid"] = community, grid
    before = {k: _plain(getattr(place, k)) for k in data}
    if phone is not None:
        phone = normalize_contact_phone(phone)
    with transaction.atomic():
        for key, value in data.items():
            setattr(place, key, value)
        after = {k: _plain(getattr(place, k)) for k in data}
        diff = audit.diff(before, after)
        if phone is not None and phone != (place.contact_phone or ""):
            diff["contact_phone"] = [place.contact_phone_masked, mask_phone(phone)]
            _set_phone(place, phone)
        if not diff:
            return place
        place.updated_by = actor
        place.save()
        audit.record(actor=actor, action="places.update", obj=place, changes=diff, reason=reason)
    return place


def _plain(value: Any) -> Any:
    return getattr(value, "code", value) if hasattr(value, "_meta") else value


def do_deactivate_place(*, actor: Any, place: Place, reason: str) -> Place:
    return _set_active(actor, place, False, reason)


def do_reactivate_place(*, actor: Any, place: Place, reason: str = "") -> Place:
    return _set_active(actor, place, True, reason)


def _set_active(actor: Any, place: Place, active: bool, reason: str) -> Place:
    _check_place_scope(
        actor, place, PLACE_DEACTIVATORS, _("Only command and community staff may deactivate places.")
    )
    reason = (reason or "").strip()
    if not active and not reason:
        raise InvalidInput(_("Say why the place is being taken off the register."), field="reason")
    if place.active == active:
        raise Conflict(_("The place is already active.") if active else _("The place is already inactive."))
    with transaction.atomic():
        place.active = active
        place.updated_by = actor
        place.save(update_fields=["active", "updated_by", "updated_at"])
        audit.record(
            actor=actor, action="places.reactivate" if active else "places.deactivate", obj=place,
            changes={"active": [not active, active]}, reason=reason,
        )  # fmt: skip
    return place


def do_reveal_place_contact(*, actor: Any, place: Place, reason: str) -> str:
    """The contact's full phone number, for someone who has to call; the reveal is on record."""
    _check_place_scope(actor, place, CONTACT_REVEALERS, _("Your roles may not see contact numbers."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why you need the number."), field="reason")
    with transaction.atomic():
        audit.record(
            actor=actor, action="places.reveal_contact", obj=place, reason=reason,
            changes={"field": "contact_phone"},
        )  # fmt: skip
    return place.contact_phone or ""


def do_export_places(*, actor: Any, places: Any, filters: dict[str, Any]) -> bytes:
    """The filtered list as an Excel workbook (phones masked). An export of the register is on record."""
    content, rows = places_workbook(places)
    with transaction.atomic():
        audit.record(
            actor=actor, action="places.export", object_type="places.place",
            changes={"filters": filters, "rows": rows},
        )  # fmt: skip
    return content


# ---- venue check-ins (the public page a venue's QR code opens) ----------------------------------------

# The same person scanning the same venue again within this time is one arrival, not two.
CHECKIN_DEDUPE_WINDOW = dt.timedelta(minutes=5)
# The audit log's actor for check-ins made on the public page (no account behind them).
CHECKIN_PAGE_ACTOR = "venue check-in page"
NAME_MAX_LENGTH = 50
_CLIENT_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SPACES = re.compile(r"\s+")


def new_client_key() -> str:
    """A fresh idempotency key for one load of the check-in form."""
    return secrets.token_urlsafe(24)


def valid_client_key(key: str) -> bool:
    return bool(_CLIENT_KEY.fullmatch(key or ""))


def clean_checkin_identity(name: object, id_number: object, phone: object = "") -> tuple[str, str, str]:
    """Name, resident ID (GB 11643, Excel damage refused) and optional mobile, normalised. Every wrong
    field is checked at once: InvalidInput names the first and carries all in details["fields"]."""
    errors: dict[str, str] = {}
    text = _SPACES.sub(" ", "" if name is None else str(name)).strip()
    if not text:
        errors["name"] = _("Enter your name.")
    elif len(text) > NAME_MAX_LENGTH:
        errors["name"] = _("The name is longer than %(n)s characters.") % {"n": NAME_MAX_LENGTH}
    elif any(ch.isdigit() for ch in text):
        errors["name"] = _("A name has no digits: enter your ID number in the field below.")
    number = ""
    try:
        number = parse_resident_id(id_number).number
    except InvalidInput as exc:
        errors["id_number"] = exc.message
    mobile = ""
    raw_phone = "" if phone is None else str(phone).strip()
    if raw_phone:
        try:
            mobile = normalize_mobile(raw_phone)
        except InvalidInput as exc:
            errors["phone"] = exc.message
    if errors:
        first = next(iter(errors))
        raise InvalidInput(errors[first], field=first, details={"fields": errors})
    return text, number, mobile


def do_check_in(
    *,
    actor: Any = None,
    place: Place,
    name: str,
    id_number: str,
    phone: str = "",
    client_key: str,
    now: dt.datetime | None = None,
) -> VenueCheckin:
    """Record a visitor's arrival at a venue. Idempotent twice over: the same `client_key` again is
    the same check-in (a resubmitted form), and the same person at the same place within
    CHECKIN_DEDUPE_WINDOW is one arrival (the earlier check-in is returned). `actor=None` is the
    public page. The presence store receives it later (tracing's do_flush_venue_checkins)."""
    name, number, mobile = clean_checkin_identity(name, id_number, phone)
    key = (client_key or "").strip()
    if not valid_client_key(key):
        raise InvalidInput(_("This form is out of date: press Check in again."), field="client_key")
    now = now or timezone.now()
    if timezone.is_naive(now):
        raise ValueError("do_check_in needs an aware time")
    person_key = id_lookup_key(IdType.RESIDENT_ID, number)
    with transaction.atomic():
        # Serialises check-ins per venue (PostgreSQL), so a double tap cannot slip past the checks below;
        # reading the row again also sees a deactivation that happened after the page was opened.
        try:
            locked = Place.objects.select_for_update().only("pk", "active").get(pk=place.pk)
        except Place.DoesNotExist:
            raise NotFound(_("No active place has this venue code."))
        replay = VenueCheckin.objects.filter(client_key=key).first()
        if replay is not None:
            if replay.place_id == place.pk and replay.person_key == person_key:
                return replay
            raise Conflict(
                _(
                    "This form was already used for another check-in: check the details and press Check in again."
                ),
                field="client_key",
            )
        if not locked.active:
            raise Conflict(_("This venue is no longer in service: check-ins are not taken here."))
        recent = (
            VenueCheckin.objects.filter(
                place_id=place.pk,
                person_key=person_key,
                scanned_at__gte=now - CHECKIN_DEDUPE_WINDOW,
                scanned_at__lte=now + CHECKIN_DEDUPE_WINDOW,
            )
            .order_by("scanned_at", "pk")
            .first()
        )
        if recent is not None:
            return recent
        checkin = VenueCheckin(
            place_id=place.pk, scanned_at=now, person_key=person_key, name=name, id_number=number,
            id_masked=mask_id(number), phone=mobile, phone_masked=mask_phone(mobile), client_key=key,
        )  # fmt: skip
        try:
            with transaction.atomic():
                checkin.save()
        except IntegrityError:
            # The same key committed by a concurrent request (no row lock on SQLite's side of this).
            existing = VenueCheckin.objects.filter(client_key=key).first()
            if existing is None:
                raise
            return existing
        audit.record(
            actor=actor if actor is not None else CHECKIN_PAGE_ACTOR, action="places.check_in", obj=checkin,
            changes={"venue_code": place.venue_code, "id": checkin.id_masked},
        )  # fmt: skip
    checkin.place = place
    return checkin
