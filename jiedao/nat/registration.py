"""Registration: the items a sampler's phone sends (open a tube, sample a person, close the tube), each
applied exactly once by its client key.

A batch is one transaction, and nothing is answered before it commits: a crash mid-batch loses only
answers the phone never got, and the phone sends those items again.

Inside it, the reads are made once for the whole batch, not once per item:
- the tubes it names, locked in barcode order (so two batches never wait on each other in a circle);
- the keys already stored;
- the people, by the blind index of their document numbers;
- their earlier samples in the rounds concerned, and which of them wait for home sampling.

The items are then checked in order against that state in memory, and their writes made together at
the end, each kind in one statement (new tubes by barcode, samples, registrations by key).

If another request stored one of the batch's keys, or opened one of its tubes, at the same moment, the
unique index says so at the end. The batch is then rolled back to before its first item and applied
again item by item, each item its own savepoint, so that item is answered as the replay it is."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput, JiedaoError
from jiedao.core.models import stamp_user
from jiedao.nat.choices import CAPACITIES, ExemptionReason, Op, Outcome, RoundStatus, SiteStatus, TubeStatus
from jiedao.nat.models import (
    Exemption,
    Registration,
    RegistrationConflict,
    Sample,
    SamplingSite,
    TestingRound,
    Tube,
)
from jiedao.nat.queries import can_staff_site, parse_id
from jiedao.registry.choices import IdType
from jiedao.registry.identity import id_lookup_key, normalize_document
from jiedao.registry.models import Person

MAX_ITEMS = 500  # per batch: a phone back from a dead zone sends its queue in pages
KEY = re.compile(r"[A-Za-z0-9_.:-]{8,64}")
BARCODE = re.compile(r"[A-Za-z0-9-]{6,32}")
LATE_GRACE = dt.timedelta(hours=6)  # a phone offline for a while still syncs after the round's end
FUTURE_SKEW = dt.timedelta(minutes=5)


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


def _barcode(raw: Any) -> str:
    code = str(raw or "").strip().upper()
    if not BARCODE.fullmatch(code):
        raise _Refused(_("A barcode is 6 to 32 letters, digits or dashes."), field="barcode")
    return code


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


def _public(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if not k.startswith("_")}


def _named_barcodes(items: list[Any]) -> list[str]:
    codes = set()
    for item in items:
        if isinstance(item, dict):
            code = str(item.get("barcode") or "").strip().upper()
            if BARCODE.fullmatch(code):
                codes.add(code)
    return sorted(codes)


def _locked_tubes(codes: list[str]) -> dict[str, Tube]:
    """The tubes with these barcodes, each row locked to the end of the transaction, in barcode order.
    Only the tube rows: FOR UPDATE would otherwise also lock the joined round and site rows, which
    every phone shares."""
    if not codes:
        return {}
    qs = Tube.objects.select_for_update(of=("self",)).select_related("round", "site")
    return {t.barcode: t for t in qs.filter(barcode__in=codes).order_by("barcode")}


@dataclass
class _Earlier:
    sampled_at: dt.datetime
    barcode: str


class _Batch:
    """One batch's items against the state read for it; the writes wait for `_flush`."""

    def __init__(self, actor: Any, items: list[Any], tubes: dict[str, Tube] | None = None) -> None:
        self.actor = actor
        self.user = stamp_user(actor)
        self.items = items
        self.tubes = tubes if tubes is not None else _locked_tubes(_named_barcodes(items))
        self.staff: dict[int, bool] = {}  # site → may the actor work there
        self.rounds: dict[int, TestingRound] = {t.round_id: t.round for t in self.tubes.values()}
        self.sites: dict[int, SamplingSite] = {}
        self.round_sites: dict[int, set[int]] = {}
        self.documents: dict[tuple[str, str, Any], tuple[str, str] | InvalidInput] = {}
        self.persons: dict[tuple[str, str], Person] = {}  # (document type, blind index) → person
        self.earlier: dict[tuple[int, int], _Earlier | None] = {}  # (round, person) → latest sample
        self.home: set[tuple[int, int]] = set()  # (round, person) waiting for home sampling
        self.home_read: set[tuple[int, int]] = set()
        # writes, made at the end
        self.new_tubes: list[Tube] = []
        self.changed_tubes: dict[str, Tube] = {}
        self.samples: list[Sample] = []
        self.stored: dict[str, Registration] = {}  # keys stored by this batch
        self.conflicts: list[RegistrationConflict] = []
        self.sampled_home: list[tuple[TestingRound, int, str]] = []

    # ---- reads, once per batch ---------------------------------------------------------------------

    def _document(self, item: dict[str, Any]) -> tuple[str, str]:
        """(type, normalised number) of an item's document, or InvalidInput on field id_number."""
        id_type = str(item.get("id_type") or IdType.RESIDENT_ID)
        if id_type not in IdType.values or id_type == IdType.NONE:
            raise _Refused(_("Unknown document type."), field="id_type")
        raw = item.get("id_number")
        memo = (id_type, type(raw).__name__, raw if isinstance(raw, str | int) else repr(raw))
        if memo not in self.documents:
            try:
                self.documents[memo] = (id_type, normalize_document(id_type, raw))
            except InvalidInput as exc:
                self.documents[memo] = exc
        found = self.documents[memo]
        if isinstance(found, InvalidInput):
            raise _Refused(found.message, field="id_number")
        return found

    def _read(self) -> dict[str, Registration]:
        keys = [str(i.get("key") or "").strip() for i in self.items if isinstance(i, dict)]
        stored = {r.client_key: r for r in Registration.objects.filter(client_key__in=keys)}
        indexes: set[str] = set()
        for item in self.items:
            if not isinstance(item, dict) or item.get("op") != Op.SAMPLE or item.get("person_code"):
                continue
            if str(item.get("key") or "").strip() in stored:
                continue
            try:
                id_type, number = self._document(item)
            except _Refused:
                continue
            indexes.add(id_lookup_key(id_type, number))
        if indexes:
            for person in Person.objects.filter(id_index__in=indexes):
                self.persons[(person.id_type, person.id_index)] = person
        rounds = set(self.rounds)
        for item in self.items:  # tubes opened in this batch are in these rounds
            if isinstance(item, dict) and item.get("op") == Op.OPEN_TUBE:
                round_id = parse_id(item.get("round"))
                if round_id is not None:
                    rounds.add(round_id)
        self._read_earlier({p.pk for p in self.persons.values()}, rounds)
        return stored

    def _read_earlier(self, person_ids: set[int], round_ids: set[int]) -> None:
        """The latest sample of each of these people in each of these rounds, and who of them is
        exempt for home sampling there."""
        wanted = {(r, p) for r in round_ids for p in person_ids} - set(self.earlier)
        if not wanted:
            return
        rounds, people = {r for r, _p in wanted}, {p for _r, p in wanted}
        for pair in wanted:
            self.earlier[pair] = None
        rows = Sample.objects.filter(round_id__in=rounds, person_id__in=people).values_list(
            "round_id", "person_id", "sampled_at", "tube__barcode"
        )
        for round_id, person_id, at, code in rows:
            now = self.earlier.get((round_id, person_id))
            if (round_id, person_id) in wanted and (now is None or at >= now.sampled_at):
                self.earlier[(round_id, person_id)] = _Earlier(at, code)
        home = Exemption.objects.filter(
            round_id__in=rounds, person_id__in=people, reason=ExemptionReason.HOME_SAMPLING
        ).values_list("round_id", "person_id")
        self.home |= {pair for pair in home if pair in wanted}
        self.home_read |= wanted

    def _staffs(self, site: SamplingSite) -> bool:
        if self.actor is None:
            return True
        if site.pk not in self.staff:
            self.staff[site.pk] = can_staff_site(self.actor, site)
        return self.staff[site.pk]

    def _round_and_site(self, item: dict[str, Any]) -> tuple[TestingRound, SamplingSite]:
        try:
            round_id, site_id = int(item.get("round") or 0), int(item.get("site") or 0)
            if round_id not in self.rounds:
                self.rounds[round_id] = TestingRound.objects.get(pk=round_id)
            if site_id not in self.sites:
                self.sites[site_id] = SamplingSite.objects.get(pk=site_id)
        except (TestingRound.DoesNotExist, SamplingSite.DoesNotExist, ValueError, TypeError, OverflowError):
            raise _Refused(_("Unknown round or site."), field="site") from None
        return self.rounds[round_id], self.sites[site_id]

    def _tube(self, item: dict[str, Any]) -> Tube:
        code = _barcode(item.get("barcode"))
        tube = self.tubes.get(code)
        if tube is None:
            # not there when the batch locked its tubes: on PostgreSQL that statement's snapshot was
            # taken before it waited for a batch that may have opened this tube since; ask again
            tube = _locked_tubes([code]).get(code)
            if tube is not None:
                self.tubes[code] = tube
                self.rounds.setdefault(tube.round_id, tube.round)
        if tube is None:
            raise _Refused(_("Unknown tube %(code)s: open it first.") % {"code": code}, field="barcode")
        if not self._staffs(tube.site):
            raise Forbidden(_("You do not work at this sampling site."))
        return tube

    def _person(self, item: dict[str, Any]) -> Person:
        from jiedao.nat.personcode import person_from_item
        from jiedao.registry.actions import do_register_person

        try:  # a scanned person code (the printed card) instead of a document number
            coded = person_from_item(item)
        except InvalidInput as exc:
            raise _Refused(exc.message, field=exc.field or "person_code") from None
        if coded is not None:
            return coded
        id_type, number = self._document(item)
        index = id_lookup_key(id_type, number)
        person = self.persons.get((id_type, index))
        if person is None:
            person = Person.objects.filter(id_type=id_type, id_index=index).first()
        if person is not None:
            return person
        name = str(item.get("name") or "").strip()
        if not name:
            raise _Refused(_("Not on the register: give the person's name too."), field="name")
        try:
            # someone tested here who lives elsewhere: on the register as a person without a household
            person = do_register_person(
                actor=None, name=name, id_type=id_type, id_number=number, phone=item.get("phone") or ""
            )
        except Conflict:
            # registered at the same moment by another phone's request (the register waited for it)
            found = Person.objects.filter(id_type=id_type, id_index=index).first()
            if found is None:
                raise
            person = found
        except InvalidInput as exc:
            raise _Refused(exc.message, field=exc.field or "name") from None
        self.persons[(id_type, index)] = person
        return person

    # ---- the three operations, in memory ---------------------------------------------------------------

    def _open_tube(self, item: dict[str, Any]) -> dict[str, Any]:
        code = _barcode(item.get("barcode"))
        capacity = item.get("capacity")
        if capacity not in CAPACITIES:
            raise _Refused(
                _("A tube holds 1, 5, 10 or 20 samples, not %(value)s.") % {"value": capacity},
                field="capacity",
            )
        rnd, site = self._round_and_site(item)
        if not self._staffs(site):
            raise Forbidden(_("You do not work at this sampling site."))
        if rnd.pk not in self.round_sites:
            self.round_sites[rnd.pk] = set(rnd.sites.values_list("pk", flat=True))
        if self.round_sites[rnd.pk] and site.pk not in self.round_sites[rnd.pk]:
            raise _Refused(_("This site does not sample for this round."), field="site")
        if site.status == SiteStatus.CLOSED:
            raise _Refused(_("The site is closed."), field="site")
        at = _when(item.get("at"), "at")
        _round_open_at(rnd, at)
        existing = self.tubes.get(code)
        if existing is not None:
            raise _Refused(
                _("Tube %(code)s is already in use (opened at %(site)s): take a new tube.")
                % {"code": code, "site": existing.site.name},
                field="barcode",
            )
        tube = Tube(
            barcode=code, round=rnd, site=site, capacity=int(capacity), opened_at=at,
            created_by=self.user, updated_by=self.user,
        )  # fmt: skip
        self.tubes[code] = tube
        self.new_tubes.append(tube)
        return {"tube": tube.barcode, "capacity": capacity, "members": 0, "_tube": tube}

    def _sample(self, item: dict[str, Any]) -> dict[str, Any]:
        tube = self._tube(item)
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
        person = self._person(item)
        reason = str(item.get("repeat_reason") or "").strip()[:200]
        pair = (tube.round_id, person.pk)
        self._read_earlier({person.pk}, {pair[0]})
        before = self.earlier[pair]
        if before is not None and not reason:
            raise _Refused(
                _("%(name)s was already sampled in this round (%(when)s, tube %(code)s): give a reason to sample again.")
                % {"name": person.name, "when": timezone.localtime(before.sampled_at).strftime("%m-%d %H:%M"),
                   "code": before.barcode},
                field="repeat_reason",
            )  # fmt: skip
        if before is not None and before.barcode == tube.barcode:
            raise _Refused(
                _("%(name)s is already in this tube.") % {"name": person.name},
                field="person_code" if item.get("person_code") else "id_number",
            )
        sample = Sample(
            round=tube.round, tube=tube, person=person, sampled_at=at, repeat_reason=reason,
            created_by=self.user, updated_by=self.user,
        )  # fmt: skip
        self.samples.append(sample)
        tube.members += 1
        self.changed_tubes[tube.barcode] = tube
        if before is None or at >= before.sampled_at:
            self.earlier[pair] = _Earlier(at, tube.barcode)
        if pair in self.home:
            self.sampled_home.append((tube.round, person.pk, tube.barcode))
        out: dict[str, Any] = {
            "tube": tube.barcode, "members": tube.members, "capacity": tube.capacity,
            "person": person.name, "id_masked": person.id_masked, "_tube": tube, "_sample": sample,
        }  # fmt: skip
        if before is not None:
            out["warning"] = _("Sampled again in this round: %(reason)s") % {"reason": reason}
        return out

    def _close_tube(self, item: dict[str, Any]) -> dict[str, Any]:
        tube = self._tube(item)
        if tube.status != TubeStatus.OPEN:
            raise _Refused(_("Tube %(code)s is already closed.") % {"code": tube.barcode}, field="barcode")
        if tube.members == 0:
            raise _Refused(
                _("Tube %(code)s is empty: nothing to close.") % {"code": tube.barcode}, field="barcode"
            )
        at = _when(item.get("at"), "at")
        if at < tube.opened_at:
            raise _Refused(_("The tube cannot be closed before it was opened."), field="at")
        tube.status, tube.closed_at = TubeStatus.CLOSED, at
        self.changed_tubes[tube.barcode] = tube
        return {"tube": tube.barcode, "members": tube.members, "capacity": tube.capacity, "_tube": tube}

    # ---- the batch ---------------------------------------------------------------------------------

    def apply(self) -> list[dict[str, Any]]:
        stored = self._read()
        answers = [self._one(item, stored) for item in self.items]
        self._flush()
        return answers

    def _one(self, item: Any, stored: dict[str, Registration]) -> dict[str, Any]:
        """One item, exactly once: the stored answer for a known key and content; a conflict (kept)
        for a known key with other content; else applied (or refused) and its answer stored."""
        if not isinstance(item, dict):
            return {
                "key": None,
                "status": "refused",
                "field": "item",
                "message": _("Each item is an object."),
            }
        key = str(item.get("key") or "").strip()
        if not KEY.fullmatch(key):
            return {"key": key or None, "status": "refused", "field": "key",
                    "message": _("Each item needs a key of 8 to 64 letters, digits, dots, colons, dashes or underscores.")}  # fmt: skip
        op = item.get("op")
        if op not in Op.values:
            return {"key": key, "status": "refused", "field": "op",
                    "message": _("Unknown op: open_tube, sample or close_tube.")}  # fmt: skip
        digest = content_hash(item)
        known = stored.get(key) or self.stored.get(key)
        if known is not None:
            return self._replay(known, digest, item)
        handler = {Op.OPEN_TUBE: self._open_tube, Op.SAMPLE: self._sample, Op.CLOSE_TUBE: self._close_tube}
        try:
            answer = handler[Op(op)](item)
            outcome, status = Outcome.APPLIED, "created"
        except Forbidden as exc:
            # not a fact about the item but about who sent it: answered, not stored under the key
            return {"key": key, "status": "forbidden", "field": "site", "message": exc.message}
        except _Refused as exc:
            answer = {"field": exc.field, "message": exc.message}
            outcome, status = Outcome.REFUSED, "refused"
        self.stored[key] = Registration(
            client_key=key, op=op, content_hash=digest, outcome=outcome, answer=_public(answer),
            tube=answer.get("_tube"), sample=answer.get("_sample"), created_by=self.user,
        )  # fmt: skip
        return {"key": key, "status": status, **_public(answer)}

    def _replay(self, known: Registration, digest: str, item: dict[str, Any]) -> dict[str, Any]:
        if known.content_hash == digest:
            status = "duplicate" if known.outcome == Outcome.APPLIED else "refused"
            return {"key": known.client_key, "status": status, **known.answer}
        self.conflicts.append(
            RegistrationConflict(
                registration=known,
                content_hash=digest,
                created_by=self.user,
                payload=json.dumps(item, ensure_ascii=False, default=str),
            )
        )
        return {"key": known.client_key, "status": "conflict", "field": "key",
                "message": _("This key was sent before with other content; kept for review, nothing changed.")}  # fmt: skip

    def _flush(self) -> None:
        """The batch's writes, each kind in one statement and in a fixed order (tubes by barcode,
        registrations by key), so concurrent batches meet at the unique indexes in the same order."""
        from jiedao.nat.rounds import do_complete_home_sampling

        now = timezone.now()
        Tube.objects.bulk_create(sorted(self.new_tubes, key=lambda t: t.barcode))
        Sample.objects.bulk_create(self.samples)
        Registration.objects.bulk_create(sorted(self.stored.values(), key=lambda r: r.client_key))
        RegistrationConflict.objects.bulk_create(self.conflicts)
        fresh = {t.barcode for t in self.new_tubes}
        for tube in self.changed_tubes.values():
            if tube.barcode not in fresh:
                Tube.objects.filter(pk=tube.pk).update(
                    members=tube.members, status=tube.status, closed_at=tube.closed_at, updated_at=now
                )
        for rnd, person_id, code in self.sampled_home:
            do_complete_home_sampling(rnd=rnd, person_id=person_id, barcode=code)


def _met_another_request(exc: Exception) -> bool:
    """A unique index met (a key or barcode another request stored first), or a deadlock PostgreSQL
    broke (SQLSTATE 40P01): worth applying again item by item. Anything else is a real error."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"


def _alone(actor: Any, item: Any) -> dict[str, Any]:
    """One item in its own savepoint. Met at the unique index (its key stored, or its tube opened, by
    another request meanwhile), it is read again: then a replay, or refused as a tube in use."""
    attempts = 3
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return _Batch(actor, [item]).apply()[0]
        except (IntegrityError, OperationalError) as exc:
            if attempt == attempts or not _met_another_request(exc):
                raise
    raise AssertionError("unreachable")


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
    with transaction.atomic():
        # the tubes first, in barcode order, so that keys stored by a batch that held them are seen
        tubes = _locked_tubes(_named_barcodes(items))
        try:
            with transaction.atomic():
                answers = _Batch(actor, items, tubes).apply()
        except (IntegrityError, OperationalError) as exc:
            # another request stored one of these keys (or opened one of these tubes) meanwhile, or
            # PostgreSQL broke a lock cycle with it (a person registered mid-batch holds the audit lock)
            if not _met_another_request(exc):
                raise
            answers = [_alone(actor, item) for item in items]
        for answer in answers:
            result.items.append(answer)
            result.counts[answer["status"]] += 1
        audit.record(
            actor=actor, action="nat.registrations", object_type="nat.registration",
            changes=dict(result.counts),
        )  # fmt: skip
    return result
