"""Writes for nucleic-acid testing: sampling sites and their live status, testing rounds, and the
registration items a sampler's phone sends (open a tube, sample a person, close the tube), each applied
exactly once by its client key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core import audit
from jiedao.core.errors import Forbidden, InvalidInput, JiedaoError
from jiedao.nat.choices import CAPACITIES, Op, Outcome, RoundKind, RoundStatus, SiteStatus, TubeStatus
from jiedao.nat.models import Registration, RegistrationConflict, Sample, SamplingSite, TestingRound, Tube
from jiedao.nat.queries import can_manage_in, can_staff_site, samplers_in
from jiedao.org.models import Community, Grid
from jiedao.registry.choices import IdType
from jiedao.registry.identity import normalize_document
from jiedao.registry.models import Compound, Person

MAX_ITEMS = 500  # per batch: a phone back from a dead zone sends its queue in pages
MAX_QUEUE = 100_000
KEY = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
BARCODE = re.compile(r"[A-Za-z0-9-]{6,32}")
LATE_GRACE = dt.timedelta(hours=6)  # a phone offline for a while still syncs after the round's end
FUTURE_SKEW = dt.timedelta(minutes=5)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


# Within one batch, who may work at a site is asked once per site, not once per item.
_STAFF_ANSWERS: ContextVar[dict[int, bool] | None] = ContextVar("nat_staff_answers", default=None)


def _staffs(actor: Any, site: SamplingSite) -> bool:
    answers = _STAFF_ANSWERS.get()
    if answers is None:
        return can_staff_site(actor, site)
    if site.pk not in answers:
        answers[site.pk] = can_staff_site(actor, site)
    return answers[site.pk]


# ---- sites -----------------------------------------------------------------------------------------


def do_save_site(
    *,
    actor: Any,
    name: str,
    community: Community,
    site: SamplingSite | None = None,
    grid: Grid | None = None,
    address: str = "",
    lat: float | None = None,
    lng: float | None = None,
    hours: str = "",
    lanes: int = 1,
    staff: list[Any] | None = None,
) -> SamplingSite:
    """Create a sampling site, or change one (the command centre, or the community's office). `staff`
    (None: unchanged) are samplers of the site's community, or of the whole subdistrict."""
    if actor is not None and not can_manage_in(actor, community.pk):
        raise Forbidden(_("Only the command centre or the community office sets up sampling sites."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(_("Give the site a name of at most 100 characters."), field="name")
    if grid is not None and grid.community_id != community.pk:
        raise InvalidInput(_("The grid is not in this community."), field="grid")
    if not isinstance(lanes, int) or not 1 <= lanes <= 50:
        raise InvalidInput(_("A site has 1 to 50 lanes."), field="lanes")
    for value, low, high, fname in ((lat, -90, 90, "lat"), (lng, -180, 180, "lng")):
        if value is not None and not low <= value <= high:
            raise InvalidInput(_("The coordinate is out of range."), field=fname)
    others = SamplingSite.objects.filter(name=name)
    taken = (others.exclude(pk=site.pk) if site is not None else others).exists()
    if taken:
        raise InvalidInput(_("Another site already has this name."), field="name")
    if staff is not None:
        allowed = set(samplers_in([community.pk]).values_list("pk", flat=True))
        if any(u.pk not in allowed for u in staff):
            raise InvalidInput(_("Site staff must be samplers of this community."), field="staff")
    fields = {
        "name": name, "community": community, "grid": grid, "address": (address or "").strip()[:200],
        "lat": lat, "lng": lng, "hours": (hours or "").strip()[:100], "lanes": lanes,
    }  # fmt: skip
    with transaction.atomic():
        if site is None:
            site = SamplingSite.objects.create(**fields, created_by=_user(actor), updated_by=_user(actor))
        else:
            for k, v in fields.items():
                setattr(site, k, v)
            site.updated_by = _user(actor)
            site.save()
        if staff is not None:
            site.staff.set(staff)
        audit.record(
            actor=actor, action="nat.save_site", obj=site,
            changes={"name": name, "community": community.code, "lanes": lanes, "hours": site.hours,
                     "staff": sorted(u.username for u in staff) if staff is not None else "unchanged"},
        )  # fmt: skip
    return site


def do_set_site_status(
    *, actor: Any, site: SamplingSite, status: str | None = None, queue_length: int | None = None
) -> SamplingSite:
    """Site staff say whether the site is open and how many people are waiting; the public map shows it."""
    if actor is not None and not can_staff_site(actor, site):
        raise Forbidden(_("Only this site's staff or its community office set its status."))
    changes: dict[str, Any] = {}
    if status is not None:
        if status not in SiteStatus.values:
            raise InvalidInput(_("Choose open, paused or closed."), field="status")
        site.status = changes["status"] = status
    if queue_length is not None:
        if not isinstance(queue_length, int) or not 0 <= queue_length <= MAX_QUEUE:
            raise InvalidInput(_("The queue is a number of people, 0 or more."), field="queue_length")
        site.queue_length = changes["queue_length"] = queue_length
        site.queue_updated_at = timezone.now()
    if not changes:
        raise InvalidInput(_("Nothing to change."), field="status")
    with transaction.atomic():
        site.updated_by = _user(actor)
        site.save(update_fields=["status", "queue_length", "queue_updated_at", "updated_by", "updated_at"])
        audit.record(actor=actor, action="nat.site_status", obj=site, changes=changes)
    return site


# ---- rounds ----------------------------------------------------------------------------------------


def do_open_round(
    *,
    actor: Any,
    name: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    kind: str = RoundKind.MASS,
    communities: list[Community] | None = None,
    compounds: list[Compound] | None = None,
    sites: list[SamplingSite] | None = None,
) -> TestingRound:
    """A round with its window, scope (nothing = the whole subdistrict) and sites. The command centre's."""
    if actor is not None and not can_manage_in(actor, None):
        raise Forbidden(_("Only the command centre opens testing rounds."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(_("Give the round a name of at most 100 characters."), field="name")
    if kind not in RoundKind.values:
        raise InvalidInput(_("Choose a mass-testing round or a routine programme."), field="kind")
    if ends_at <= starts_at:
        raise InvalidInput(_("The round must end after it starts."), field="ends_at")
    with transaction.atomic():
        rnd = TestingRound.objects.create(
            name=name, kind=kind, starts_at=starts_at, ends_at=ends_at, status=RoundStatus.OPEN,
            created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        rnd.communities.set(communities or [])
        rnd.compounds.set(compounds or [])
        rnd.sites.set(sites or [])
        audit.record(
            actor=actor, action="nat.open_round", obj=rnd,
            changes={"name": name, "kind": kind, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                     "communities": [c.code for c in communities or []], "sites": len(sites or [])},
        )  # fmt: skip
    return rnd


# ---- registrations ---------------------------------------------------------------------------------


@dataclass
class BatchResult:
    items: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


class _Refused(JiedaoError):
    status = 422
    code = "refused"


def content_hash(item: dict[str, Any]) -> str:
    body = {k: v for k, v in item.items() if k != "key"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def _when(raw: Any, name: str) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        when = raw
    else:
        try:
            when = dt.datetime.fromisoformat(str(raw or "").strip().replace("Z", "+00:00"))
        except ValueError:
            raise _Refused(_("Give the time as ISO 8601 with its offset."), field=name) from None
    if timezone.is_naive(when):
        raise _Refused(_("Give the time with its UTC offset (e.g. +08:00)."), field=name)
    if when > timezone.now() + FUTURE_SKEW:
        raise _Refused(_("The time is in the future: check the phone's clock."), field=name)
    return when


def _round_open_at(rnd: TestingRound, when: dt.datetime) -> None:
    if rnd.status == RoundStatus.CLOSED:
        raise _Refused(_("The round is closed."), field="round")
    if not rnd.starts_at <= when <= rnd.ends_at + LATE_GRACE:
        raise _Refused(
            _("The time is outside the round (%(start)s to %(end)s).")
            % {"start": timezone.localtime(rnd.starts_at).strftime("%m-%d %H:%M"),
               "end": timezone.localtime(rnd.ends_at).strftime("%m-%d %H:%M")},
            field="at",
        )  # fmt: skip


def _tube(barcode: Any, *, lock: bool = False) -> Tube:
    code = str(barcode or "").strip().upper()
    if not BARCODE.fullmatch(code):
        raise _Refused(_("A barcode is 6 to 32 letters, digits or dashes."), field="barcode")
    # lock the tube row only: FOR UPDATE would also lock the joined round and site rows, which every
    # phone shares, and batches (one transaction each) would deadlock on them
    qs = Tube.objects.select_for_update(of=("self",)) if lock else Tube.objects.all()
    try:
        return qs.select_related("round", "site").get(barcode=code)
    except Tube.DoesNotExist:
        raise _Refused(_("Unknown tube %(code)s: open it first.") % {"code": code}, field="barcode") from None


def _open_tube(actor: Any, item: dict[str, Any]) -> dict[str, Any]:
    code = str(item.get("barcode") or "").strip().upper()
    if not BARCODE.fullmatch(code):
        raise _Refused(_("A barcode is 6 to 32 letters, digits or dashes."), field="barcode")
    capacity = item.get("capacity")
    if capacity not in CAPACITIES:
        raise _Refused(
            _("A tube holds 1, 5, 10 or 20 samples, not %(value)s.") % {"value": capacity}, field="capacity"
        )
    try:
        rnd = TestingRound.objects.get(pk=int(item.get("round") or 0))
        site = SamplingSite.objects.get(pk=int(item.get("site") or 0))
    except (TestingRound.DoesNotExist, SamplingSite.DoesNotExist, ValueError, TypeError, OverflowError):
        raise _Refused(_("Unknown round or site."), field="site") from None
    if actor is not None and not _staffs(actor, site):
        raise Forbidden(_("You do not work at this sampling site."))
    if rnd.sites.exists() and not rnd.sites.filter(pk=site.pk).exists():
        raise _Refused(_("This site does not sample for this round."), field="site")
    if site.status == SiteStatus.CLOSED:
        raise _Refused(_("The site is closed."), field="site")
    at = _when(item.get("at"), "at")
    _round_open_at(rnd, at)
    existing = Tube.objects.filter(barcode=code).select_related("site").first()
    if existing is not None:
        raise _Refused(
            _("Tube %(code)s is already in use (opened at %(site)s): take a new tube.")
            % {"code": code, "site": existing.site.name},
            field="barcode",
        )
    tube = Tube.objects.create(
        barcode=code, round=rnd, site=site, capacity=capacity, opened_at=at,
        created_by=_user(actor), updated_by=_user(actor),
    )  # fmt: skip
    return {"tube": tube.barcode, "capacity": capacity, "members": 0, "_tube": tube}


def _person(item: dict[str, Any]) -> Person:
    from jiedao.nat.personcode import person_from_item
    from jiedao.registry.actions import do_register_person
    from jiedao.registry.queries import find_person_by_document

    try:  # a scanned person code (the printed card) instead of a document number
        coded = person_from_item(item)
    except InvalidInput as exc:
        raise _Refused(exc.message, field=exc.field or "person_code") from None
    if coded is not None:
        return coded
    id_type = str(item.get("id_type") or IdType.RESIDENT_ID)
    if id_type not in IdType.values or id_type == IdType.NONE:
        raise _Refused(_("Unknown document type."), field="id_type")
    try:
        number = normalize_document(id_type, item.get("id_number"))
    except InvalidInput as exc:
        raise _Refused(exc.message, field="id_number") from None
    person = find_person_by_document(id_type, number)
    if person is not None:
        return person
    name = str(item.get("name") or "").strip()
    if not name:
        raise _Refused(_("Not on the register: give the person's name too."), field="name")
    try:
        # someone tested here who lives elsewhere: on the register as a person without a household
        return do_register_person(
            actor=None, name=name, id_type=id_type, id_number=number, phone=item.get("phone") or ""
        )
    except InvalidInput as exc:
        raise _Refused(exc.message, field=exc.field or "name") from None


def _sample(actor: Any, item: dict[str, Any]) -> dict[str, Any]:
    tube = _tube(item.get("barcode"), lock=True)
    if actor is not None and not _staffs(actor, tube.site):
        raise Forbidden(_("You do not work at this sampling site."))
    if tube.status != TubeStatus.OPEN:
        raise _Refused(
            _("Tube %(code)s is closed: open a new tube.") % {"code": tube.barcode}, field="barcode"
        )
    if tube.members >= tube.capacity:
        raise _Refused(
            _("Tube %(code)s is full (%(n)s of %(n)s): close it and open a new one.")
            % {"code": tube.barcode, "n": tube.capacity},
            field="barcode",
        )
    at = _when(item.get("at"), "at")
    if at < tube.opened_at:
        raise _Refused(_("The sample is earlier than its tube was opened."), field="at")
    _round_open_at(tube.round, at)
    person = _person(item)
    reason = str(item.get("repeat_reason") or "").strip()[:200]
    before = (
        Sample.objects.filter(round=tube.round, person=person)
        .select_related("tube")
        .order_by("-sampled_at")
        .first()
    )
    if before is not None and not reason:
        raise _Refused(
            _("%(name)s was already sampled in this round (%(when)s, tube %(code)s): give a reason to sample again.")
            % {"name": person.name, "when": timezone.localtime(before.sampled_at).strftime("%m-%d %H:%M"),
               "code": before.tube.barcode},
            field="repeat_reason",
        )  # fmt: skip
    if before is not None and before.tube_id == tube.pk:
        raise _Refused(
            _("%(name)s is already in this tube.") % {"name": person.name},
            field="person_code" if item.get("person_code") else "id_number",
        )
    sample = Sample.objects.create(
        round=tube.round, tube=tube, person=person, sampled_at=at, repeat_reason=reason,
        created_by=_user(actor), updated_by=_user(actor),
    )  # fmt: skip
    Tube.objects.filter(pk=tube.pk).update(members=F("members") + 1, updated_at=timezone.now())
    from jiedao.nat.rounds import do_complete_home_sampling

    do_complete_home_sampling(rnd=tube.round, person_id=person.pk, barcode=tube.barcode)  # one indexed read
    out: dict[str, Any] = {
        "tube": tube.barcode, "members": tube.members + 1, "capacity": tube.capacity,
        "person": person.name, "id_masked": person.id_masked, "_tube": tube, "_sample": sample,
    }  # fmt: skip
    if before is not None:
        out["warning"] = _("Sampled again in this round: %(reason)s") % {"reason": reason}
    return out


def _close_tube(actor: Any, item: dict[str, Any]) -> dict[str, Any]:
    tube = _tube(item.get("barcode"), lock=True)
    if actor is not None and not _staffs(actor, tube.site):
        raise Forbidden(_("You do not work at this sampling site."))
    if tube.status != TubeStatus.OPEN:
        raise _Refused(_("Tube %(code)s is already closed.") % {"code": tube.barcode}, field="barcode")
    if tube.members == 0:
        raise _Refused(
            _("Tube %(code)s is empty: nothing to close.") % {"code": tube.barcode}, field="barcode"
        )
    at = _when(item.get("at"), "at")
    if at < tube.opened_at:
        raise _Refused(_("The tube cannot be closed before it was opened."), field="at")
    Tube.objects.filter(pk=tube.pk).update(status=TubeStatus.CLOSED, closed_at=at, updated_at=timezone.now())
    return {"tube": tube.barcode, "members": tube.members, "capacity": tube.capacity, "_tube": tube}


HANDLERS = {Op.OPEN_TUBE: _open_tube, Op.SAMPLE: _sample, Op.CLOSE_TUBE: _close_tube}


def _public(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if not k.startswith("_")}


def _apply_one(
    actor: Any, item: dict[str, Any], known_keys: dict[str, Registration] | None = None
) -> dict[str, Any]:
    """One item, exactly once: the stored answer for a known key and content; a conflict (kept) for a
    known key with other content; else applied (or refused) and its answer stored under the key."""
    if not isinstance(item, dict):
        return {"key": None, "status": "refused", "field": "item", "message": _("Each item is an object.")}
    key = str(item.get("key") or "").strip()
    if not KEY.fullmatch(key):
        return {"key": key or None, "status": "refused", "field": "key",
                "message": _("Each item needs a key of 8 to 64 letters, digits, dots, colons, dashes or underscores.")}  # fmt: skip
    op = item.get("op")
    if op not in Op.values:
        return {"key": key, "status": "refused", "field": "op",
                "message": _("Unknown op: open_tube, sample or close_tube.")}  # fmt: skip
    digest = content_hash(item)
    known = (
        known_keys.get(key) if known_keys is not None else Registration.objects.filter(client_key=key).first()
    )
    if known is not None:
        return _replay(actor, known, digest, item)
    try:
        with transaction.atomic():
            try:
                answer = HANDLERS[Op(op)](actor, item)
                outcome = Outcome.APPLIED
                status = "created"
            except Forbidden as exc:
                # not a fact about the item but about who sent it: answered, not stored under the key
                return {"key": key, "status": "forbidden", "field": "site", "message": exc.message}
            except _Refused as exc:
                answer = {"field": exc.field, "message": exc.message}
                outcome, status = Outcome.REFUSED, "refused"
            Registration.objects.create(
                client_key=key, op=op, content_hash=digest, outcome=outcome, answer=_public(answer),
                tube=answer.get("_tube"), sample=answer.get("_sample"), created_by=_user(actor),
            )  # fmt: skip
    except IntegrityError:
        # the same key arrived at the same moment by another request, which won: answer as a replay
        known = Registration.objects.filter(client_key=key).first()
        if known is None:
            raise
        return _replay(actor, known, digest, item)
    return {"key": key, "status": status, **_public(answer)}


def _replay(actor: Any, known: Registration, digest: str, item: dict[str, Any]) -> dict[str, Any]:
    if known.content_hash == digest:
        status = "duplicate" if known.outcome == Outcome.APPLIED else "refused"
        return {"key": known.client_key, "status": status, **known.answer}
    RegistrationConflict.objects.create(
        registration=known, content_hash=digest, payload=json.dumps(item, ensure_ascii=False, default=str),
        created_by=_user(actor),
    )  # fmt: skip
    return {"key": known.client_key, "status": "conflict", "field": "key",
            "message": _("This key was sent before with other content; kept for review, nothing changed.")}  # fmt: skip


def do_apply_registrations(*, actor: Any, items: list[Any]) -> BatchResult:
    """Apply a sampler's items in order, each on its own (one refusal does not hold up the rest).
    Answers per item: created, duplicate (the same key and content again: the first answer),
    refused (with the field and why), or conflict (the key was used for other content: kept)."""
    if not isinstance(items, list) or not items:
        raise InvalidInput(_("Send a list of items."), field="items")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(
            _("At most %(n)s items per batch: send the rest next.") % {"n": MAX_ITEMS}, field="items"
        )
    result = BatchResult()
    keys = [str(i.get("key") or "").strip() for i in items if isinstance(i, dict)]
    # One transaction for the batch (each item a savepoint inside it): one commit instead of one per
    # item. Nothing is answered before the commit, so a crash mid-batch loses only answers the phone
    # never got, and it sends those items again.
    staff = _STAFF_ANSWERS.set({})
    try:
        with transaction.atomic():
            known_keys = {r.client_key: r for r in Registration.objects.filter(client_key__in=keys)}
            for item in items:
                answer = _apply_one(actor, item, known_keys)
                result.items.append(answer)
                result.counts[answer["status"]] += 1
            # (a key repeated later in the batch meets the unique index and is answered as a replay)
            audit.record(
                actor=actor,
                action="nat.registrations",
                object_type="nat.registration",
                changes=dict(result.counts),
            )
    finally:
        _STAFF_ANSWERS.reset(staff)
    return result


def do_export_missing(*, actor: Any, rnd: TestingRound, queryset: Any, filters: dict[str, Any]) -> bytes:
    """The residents not yet sampled in a round, masked, as an Excel ledger, on record."""
    from jiedao.core.ledger import Column, write_xlsx

    columns = [
        Column(_("Name"), 10), Column(_("Document number"), 22, text=True), Column(_("Phone"), 14, text=True),
        Column(_("Address"), 30), Column(_("Community"), 12), Column(_("Grid"), 12),
    ]  # fmt: skip
    rows = (
        [r.person.name, r.person.id_masked, r.person.phone_masked, r.household.address,
         r.community.name if r.community else "", r.grid.name if r.grid else ""]
        for r in queryset.iterator(chunk_size=2000)
    )  # fmt: skip
    ledger = write_xlsx(_("Not yet sampled"), columns, rows)
    audit.record(
        actor=actor, action="nat.export_missing", obj=rnd, changes={"filters": filters, "rows": ledger.rows}
    )
    return ledger.data
