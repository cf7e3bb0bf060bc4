"""Writes for screening. Each is atomic and leaves an audit entry; views, the API, the demo and the
tests all call these."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput, JiedaoError, NotFound
from jiedao.core.sheets import forget_upload, is_blank, iter_table, keep_upload
from jiedao.org.models import Community, Grid
from jiedao.protocols.registry import get_protocol
from jiedao.registry.models import Person
from jiedao.screening import exports
from jiedao.screening.choices import (
    REOPENABLE,
    SOURCE_CATEGORY,
    KeyPersonStatus,
    MatchMethod,
    Outcome,
    RouteMethod,
    Source,
)
from jiedao.screening.columns import COLUMN_SET
from jiedao.screening.intake import EntryChecker, EntryIn, Report, RowError
from jiedao.screening.matching import CHUNK, AddressRouter, Route, apply_route, verify_item, write_chunk
from jiedao.screening.models import HandBack, KeyPerson, PushedEntry, PushedList, Verification
from jiedao.screening.proposal import propose
from jiedao.screening.queries import (
    DISPATCH_ROLES,
    HAND_BACK_ROLES,
    INTAKE_ROLES,
    VERIFY_ROLES,
    can,
    can_in_area,
    role_scope,
)
from jiedao.work.choices import OPEN_STATUSES as WORK_OPEN

MAX_API_ENTRIES = 1000


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _require_intake(actor: Any) -> None:
    if actor is None:
        return
    if not can(actor, INTAKE_ROLES) or not role_scope(actor, INTAKE_ROLES).everything:
        raise Forbidden(_("Only the subdistrict command centre receives pushed lists."))


def _require_in_area(actor: Any, roles: tuple[str, ...], kp: KeyPerson, message: str) -> None:
    if actor is None:
        return
    if not can_in_area(actor, roles, kp):
        raise Forbidden(message)


# ---- lists --------------------------------------------------------------------------------------


@dataclass
class ListMeta:
    title: str
    issuer: str
    source: str
    category: str
    received_at: dt.datetime
    protocol_key: str


def check_list_meta(
    *, title: str, issuer: str, source: str, category: str = "", received_at: dt.datetime | None = None
) -> ListMeta:
    """The list's own fields, checked; `category` may be a key, a label or an alias (密接)."""
    title, issuer, category = (title or "").strip(), (issuer or "").strip(), (category or "").strip()
    if not title:
        raise InvalidInput(_("Give the list a title."), field="title")
    if len(title) > 200:
        raise InvalidInput(_("The title is longer than 200 characters."), field="title")
    if not issuer:
        raise InvalidInput(_("Name who pushed the list (e.g. 市疫情防控指挥部)."), field="issuer")
    if len(issuer) > 100:
        raise InvalidInput(_("The issuer is longer than 100 characters."), field="issuer")
    if source not in Source.values:
        raise InvalidInput(
            _("Unknown source “%(value)s” (known: %(known)s).")
            % {"value": source, "known": ", ".join(Source.values)},
            field="source",
        )
    now = timezone.now()
    received_at = received_at or now
    if timezone.is_naive(received_at):
        received_at = timezone.make_aware(received_at)
    if received_at > now + dt.timedelta(minutes=5):
        raise InvalidInput(_("The list cannot have been received in the future."), field="received_at")
    if received_at.year < 2019:
        raise InvalidInput(_("The list cannot have been received before 2019."), field="received_at")
    try:
        protocol = get_protocol(on=timezone.localtime(received_at).date())
    except NotFound:
        raise InvalidInput(
            _("No prevention protocol was in force on %(day)s: check the time the list was received.")
            % {"day": timezone.localtime(received_at).date().isoformat()},
            field="received_at",
        ) from None
    if category:
        cat = protocol.category_for_name(category)
        if cat is None:
            known = "、".join(c.label_zh for c in protocol.categories.values())
            raise InvalidInput(
                _("Unknown category “%(value)s” (the protocol knows: %(known)s).")
                % {"value": category, "known": known},
                field="category",
            )
        category = cat.key
    else:
        category = SOURCE_CATEGORY.get(Source(source), "")
    return ListMeta(title, issuer, source, category, received_at, protocol.key)


def do_stage_list(*, actor: Any, meta: ListMeta, filename: str, data: bytes) -> PushedList:
    """Keep an uploaded list (encrypted) for preview, dry run and commit."""
    _require_intake(actor)
    rows = iter_table(filename, data)  # refuses what is not a spreadsheet before anything is kept
    next(rows, None)
    digest = keep_upload(data)
    user = _user(actor)
    with transaction.atomic():
        plist = PushedList.objects.create(
            title=meta.title, issuer=meta.issuer, source=meta.source, category=meta.category,
            protocol_key=meta.protocol_key, received_at=meta.received_at, filename=Path(filename).name[:255],
            sha256=digest, created_by=user, updated_by=user,
        )  # fmt: skip
        audit.record(
            actor=actor, action="screening.stage_list", obj=plist,
            changes={"title": plist.title, "filename": plist.filename, "sha256": digest, "source": plist.source},
        )  # fmt: skip
    return plist


@dataclass
class ReceiveResult:
    report: Report
    previous: PushedList | None = None  # the same file was received before: nothing changed

    @property
    def ok(self) -> bool:
        return self.previous is not None or self.report.ok


def already_received(sha256: str) -> PushedList | None:
    return PushedList.objects.filter(committed=True, sha256=sha256).first() if sha256 else None


def do_receive_list(*, actor: Any, plist: PushedList, data: bytes, dry_run: bool = False) -> ReceiveResult:
    """Check every row and, unless `dry_run`, match, route and record them: all or nothing. A dry run
    does the same work and rolls it back, so its counts are exactly what a commit would do. The same
    file, or another file with the same entries, received before changes nothing (`previous`)."""
    _require_intake(actor)
    previous = already_received(plist.sha256)
    if previous is not None:
        return ReceiveResult(Report(counts=dict(previous.counts)), previous=previous)
    report = Report()
    try:
        rows = iter_table(plist.filename, data)
        head = [r for _i, r in zip(range(10), rows, strict=False)]
    except JiedaoError as exc:
        report.file_errors.append(exc.message)
        return ReceiveResult(report)
    if all(is_blank(r) for r in head):
        report.file_errors.append(_("The sheet has no data rows."))
        return ReceiveResult(report)
    mapping = COLUMN_SET.map(head)
    if mapping.errors:
        report.file_errors.extend(mapping.errors)
        return ReceiveResult(report)
    protocol = get_protocol(plist.protocol_key)
    checker = EntryChecker(protocol, plist.category, report)
    counts: Counter[str] = Counter()
    name_header = mapping.header("name")
    hashes: list[str] = []
    try:
        with transaction.atomic():
            if not dry_run:
                # Two commits of one staged list (a double click, a retried request) run one after the other.
                locked = PushedList.objects.select_for_update().get(pk=plist.pk)
                previous = locked if locked.committed else already_received(plist.sha256)
                if previous is not None:
                    return ReceiveResult(Report(counts=dict(previous.counts)), previous=previous)
            router = AddressRouter()
            chunk: list[EntryIn] = []

            def flush() -> None:
                for e in write_chunk(actor=actor, plist=plist, entries=chunk, router=router, counts=counts):
                    if e.match_note and len(report.warnings) < 1000:
                        report.warnings.append(RowError(e.row, name_header, e.match_note))
                chunk.clear()

            try:
                for number, row in enumerate(
                    chain(head[mapping.header_row :], rows), start=mapping.header_row + 1
                ):
                    if is_blank(row):
                        continue
                    entry = checker.check(number, functools.partial(mapping.cell, row), mapping.header)
                    if entry is not None:
                        hashes.append(entry.content_hash)
                        if report.ok:
                            chunk.append(entry)
                            if len(chunk) >= CHUNK:
                                flush()
                if report.rows == 0 and not report.file_errors:
                    report.file_errors.append(_("The sheet has no data rows."))
                if report.ok and chunk:
                    flush()
            except JiedaoError as exc:  # the file broke off part way, or a row could not be recorded
                report.file_errors.append(exc.message)
            report.counts = dict(counts)
            digest = content_digest(hashes)
            same = (
                PushedList.objects.filter(
                    committed=True, content_digest=digest, source=plist.source, issuer=plist.issuer
                )
                .exclude(pk=plist.pk)
                .first()
            )
            if same is not None and report.ok:
                transaction.set_rollback(True)
                return ReceiveResult(Report(counts=dict(same.counts)), previous=same)
            if not report.ok or dry_run:
                transaction.set_rollback(True)
                return ReceiveResult(report)
            plist.committed = True
            plist.rows = report.rows
            plist.counts = report.counts
            plist.content_digest = digest
            plist.updated_by = _user(actor)
            plist.save(
                update_fields=["committed", "rows", "counts", "content_digest", "updated_by", "updated_at"]
            )
            audit.record(
                actor=actor, action="screening.receive_list", obj=plist,
                changes={"title": plist.title, "rows": plist.rows, **report.counts},
            )  # fmt: skip
    except IntegrityError:
        # The same file, or the same people, committed at the same moment by another request.
        raise Conflict(_("This list has just been received by another request: open the lists to see it."))
    transaction.on_commit(lambda: forget_upload(plist.sha256))
    if report.rows >= ANALYZE_AFTER_ROWS:
        transaction.on_commit(refresh_planner_statistics)
    return ReceiveResult(report)


ANALYZE_AFTER_ROWS = 1000


def refresh_planner_statistics() -> None:
    """After a large list, tell the database how the key persons are spread: without fresh statistics
    SQLite sorts every overdue person to show the first 25 (200 ms at 100,000) instead of walking the
    deadline index (5 ms)."""
    from django.db import connection

    table = KeyPerson._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {table}")


def content_digest(hashes: list[str]) -> str:
    """One digest of a list's entries, whatever their order or the file's format."""
    import hashlib

    return hashlib.sha256("\n".join(sorted(hashes)).encode("ascii")).hexdigest() if hashes else ""


def do_open_list(
    *, actor: Any, client_key: str, meta: ListMeta, basis_label: str = "", basis_url: str = ""
) -> tuple[PushedList, bool]:
    """A list for entries sent through the API (or made here, from the record `basis_*` names). The
    same `client_key` again returns the same list (created = False); the same key with other details
    is a conflict."""
    _require_intake(actor)
    client_key = (client_key or "").strip()
    if not client_key or len(client_key) > 100:
        raise InvalidInput(_("Send a client key of 1 to 100 characters."), field="key")
    user = _user(actor)
    same = {"title": meta.title, "issuer": meta.issuer, "source": meta.source, "category": meta.category}
    existing = PushedList.objects.filter(created_by=user, client_key=client_key).first()
    if existing is not None:
        if {k: getattr(existing, k) for k in same} != same:
            raise Conflict(_("The key %(key)s was used for another list.") % {"key": client_key}, field="key")
        return existing, False
    try:
        with transaction.atomic():
            plist = PushedList.objects.create(
                client_key=client_key, protocol_key=meta.protocol_key, received_at=meta.received_at,
                committed=True, created_by=user, updated_by=user, basis_label=basis_label[:200],
                basis_url=basis_url[:200], **same,
            )  # fmt: skip
            audit.record(
                actor=actor, action="screening.open_list", obj=plist, changes={"key": client_key, **same}
            )
    except IntegrityError:
        existing = PushedList.objects.filter(created_by=user, client_key=client_key).first()
        if existing is None:
            raise
        return existing, False
    return plist, True


@dataclass
class PushResult:
    created: int = 0
    duplicates: int = 0
    entries: list[dict[str, Any]] = field(default_factory=list)


def do_push_entries(*, actor: Any, plist: PushedList, entries: list[dict[str, Any]]) -> PushResult:
    """Add a batch of entries to an API list, each applied exactly once by its `key`: the same key and
    content again changes nothing; the same key with other content, or any bad entry, refuses the whole
    batch (409 / 422 with every problem listed) and writes nothing."""
    _require_intake(actor)
    user = _user(actor)
    if plist.created_by_id != getattr(user, "pk", None) or not plist.client_key:
        raise NotFound(_("Not found."))
    if not entries:
        raise InvalidInput(_("The batch has no entries."), field="entries")
    if len(entries) > MAX_API_ENTRIES:
        raise InvalidInput(
            _("At most %(n)s entries per batch: split it.") % {"n": MAX_API_ENTRIES}, field="entries"
        )
    keys = [str(e.get("key") or "").strip() for e in entries]
    report = Report()
    for i, key in enumerate(keys):
        if not key or len(key) > 100:
            report.add_error(i + 1, "key", _("Each entry needs a key of 1 to 100 characters."))
        elif key in keys[:i]:
            report.add_error(i + 1, "key", _("The key %(key)s appears twice in the batch.") % {"key": key})
    known = {
        e.client_key: e
        for e in PushedEntry.objects.filter(created_by=user, client_key__in=[k for k in keys if k]).only(
            "client_key", "content_hash", "key_person_id", "pushed_list_id"
        )
    }
    checker = EntryChecker(get_protocol(plist.protocol_key), plist.category, report)
    result = PushResult()
    fresh: list[EntryIn] = []
    conflicts: list[str] = []
    for i, raw in enumerate(entries):
        entry = checker.check(i + 1, raw.get, lambda k: k, client_key=keys[i])
        before = known.get(keys[i])
        if before is not None:
            if entry is not None and (
                entry.content_hash != before.content_hash or before.pushed_list_id != plist.pk
            ):
                conflicts.append(keys[i])
            elif entry is not None:
                result.duplicates += 1
                result.entries.append(
                    {"key": keys[i], "status": "duplicate", "key_person_id": before.key_person_id}
                )
        elif entry is not None:
            entry.row = plist.rows + len(fresh) + 1
            fresh.append(entry)
            result.entries.append({"key": keys[i], "status": "created", "key_person_id": None})
    if conflicts:
        raise Conflict(
            _("These keys were sent before with other content: %(keys)s. Nothing was written.")
            % {"keys": ", ".join(conflicts[:20])},
            field="entries",
            details=[{"key": k} for k in conflicts],
        )
    if not report.ok:
        raise InvalidInput(
            _("%(n)s problems in the batch; nothing was written. The first: %(first)s")
            % {"n": report.error_count, "first": report.errors[0]},
            field="entries",
            details=[{"entry": e.row, "field": e.column, "message": e.message} for e in report.errors],
        )
    counts: Counter[str] = Counter()
    try:
        with transaction.atomic():
            # Batches to one list arrive in parallel: number their rows and add their counts one at a time.
            locked = PushedList.objects.select_for_update().get(pk=plist.pk)
            plist.rows, plist.counts = locked.rows, locked.counts
            for n, entry in enumerate(fresh, start=1):
                entry.row = plist.rows + n
            written = write_chunk(
                actor=actor, plist=plist, entries=fresh, router=AddressRouter(), counts=counts
            )
            plist.rows += len(written)
            plist.counts = dict(Counter(plist.counts) + counts)
            plist.save(update_fields=["rows", "counts", "updated_at"])
            audit.record(
                actor=actor,
                action="screening.push_entries",
                obj=plist,
                changes={"created": len(written), **counts},
            )
    except IntegrityError:
        raise Conflict(
            _("Some of these keys were sent at the same moment by another request: send the batch again.")
        )
    by_key = {e.client_key: e.key_person_id for e in written}
    for out in result.entries:
        if out["status"] == "created":
            out["key_person_id"] = by_key[out["key"]]
    result.created = len(written)
    return result


# ---- routing ------------------------------------------------------------------------------------


def _cancel_item(kp: KeyPerson, reason: str) -> None:
    from jiedao.work.actions import do_cancel_work_item

    item = kp.work_item
    if item is not None and item.status in WORK_OPEN:
        do_cancel_work_item(actor=None, item=item, reason=reason)


def _complete_item(kp: KeyPerson, outcome: str) -> None:
    from jiedao.work.actions import do_complete_work_item

    item = kp.work_item
    if item is not None and item.status in WORK_OPEN:
        do_complete_work_item(actor=None, item=item, outcome=outcome)


def _assign(actor: Any, kp: KeyPerson, route: Route) -> None:
    """Route and create the work item (the caller saves the key person)."""
    from jiedao.work.actions import do_create_work_items

    apply_route(kp, route)
    if kp.community_id:
        kp.work_item = do_create_work_items(
            actor=actor, items=[verify_item(kp, get_protocol(kp.protocol_key))]
        )[0]
    else:
        kp.work_item = None


def _lock_unchanged(kp: KeyPerson) -> int:
    """Re-read the key person under a lock: when two phones (or a phone and the dispatcher) act on the
    same person at once, the second sees the first's change instead of overwriting it. Returns the
    attempts on record."""
    row = (
        KeyPerson.objects.select_for_update()
        .filter(pk=kp.pk)
        .values("status", "community_id", "grid_id", "attempts")
        .first()
    )
    if row is None or (row["status"], row["community_id"], row["grid_id"]) != (
        kp.status,
        kp.community_id,
        kp.grid_id,
    ):
        raise Conflict(_("Someone changed this person in the meantime: reload and try again."))
    return row["attempts"]


_ROUTE_FIELDS = ["community", "grid", "household", "compound", "route_method", "routings", "status", "work_item",
                 "updated_by", "updated_at"]  # fmt: skip


def do_route_key_person(
    *, actor: Any, kp: KeyPerson, community: Community, grid: Grid | None = None
) -> KeyPerson:
    """The dispatcher sends a key person to a community (and grid)."""
    if actor is not None and not (
        can(actor, DISPATCH_ROLES) and role_scope(actor, DISPATCH_ROLES).everything
    ):
        raise Forbidden(_("Only the subdistrict command centre dispatches key persons."))
    if kp.status not in (KeyPersonStatus.DISPATCH, KeyPersonStatus.TO_VERIFY):
        raise Conflict(_("This person has been verified already."))
    if grid is not None and grid.community_id != community.pk:
        raise InvalidInput(_("This grid belongs to another community."), field="grid")
    before = {"community": kp.community_id, "grid": kp.grid_id}
    with transaction.atomic():
        _lock_unchanged(kp)
        _cancel_item(kp, _("Routed elsewhere by the dispatcher."))
        _assign(
            actor, kp, Route(RouteMethod.MANUAL, community.pk, grid.pk if grid else None, kp.household_id)
        )
        kp.updated_by = _user(actor)
        kp.save(update_fields=_ROUTE_FIELDS)
        audit.record(
            actor=actor, action="screening.route", obj=kp,
            changes={"community": [before["community"], community.pk], "grid": [before["grid"], kp.grid_id]},
        )  # fmt: skip
    return kp


def do_hand_back_key_person(*, actor: Any, kp: KeyPerson, reason: str) -> HandBack:
    """A community says the person is not theirs: back to the dispatch queue, with the reason, which the
    list's issuer sees in the list's feedback."""
    _require_in_area(
        actor, HAND_BACK_ROLES, kp, _("Only the community the person was sent to can hand them back.")
    )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why this person is not yours."), field="reason")
    if len(reason) > 500:
        raise InvalidInput(_("The reason is longer than 500 characters."), field="reason")
    if kp.status != KeyPersonStatus.TO_VERIFY or not kp.community_id:
        raise Conflict(_("Only a person waiting for verification in a community can be handed back."))
    with transaction.atomic():
        _lock_unchanged(kp)
        back = HandBack.objects.create(
            key_person=kp,
            community_id=kp.community_id,
            reason=reason,
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        _cancel_item(kp, _("Handed back: %(reason)s") % {"reason": reason})
        apply_route(kp, Route(RouteMethod.NONE, None, None))
        kp.routings -= 1  # apply_route counts routings; a hand-back is not one
        kp.work_item = None
        kp.updated_by = _user(actor)
        kp.save(update_fields=_ROUTE_FIELDS)
        audit.record(actor=actor, action="screening.hand_back", obj=kp, reason=reason,
                     changes={"community": back.community_id})  # fmt: skip
    return back


# ---- matching by hand ---------------------------------------------------------------------------


def do_confirm_candidate(*, actor: Any, kp: KeyPerson, person: Person) -> KeyPerson:
    """The pushed person is this register person: the key person (and its entries) move to them, and
    follow their household. If they already are a key person, the two join."""
    from jiedao.registry.queries import is_visible
    from jiedao.screening.matching import _homes

    _require_in_area(actor, VERIFY_ROLES, kp, _("Your role may not confirm matches here."))
    if person.pk not in (kp.candidates or []) or not is_visible(actor, person):
        raise InvalidInput(_("That person is not one of the candidates."), field="person")
    with transaction.atomic():
        other = KeyPerson.objects.filter(person=person).first()
        if other is not None and other.pk != kp.pk:
            _require_in_area(
                actor, VERIFY_ROLES, other, _("That person is screened by another area: ask dispatch.")
            )
        pushed_person = kp.person_id
        kp.entries.update(match=MatchMethod.CONFIRMED)
        if other is not None and other.pk != kp.pk:
            kp.entries.update(key_person=other)
            kp.verifications.update(key_person=other)
            kp.handbacks.update(key_person=other)
            _cancel_item(kp, _("Joined with the same person's existing record."))
            audit.record(actor=actor, action="screening.confirm_candidate", obj=other,
                         changes={"joined": kp.pk, "person": person.pk})  # fmt: skip
            if other.status in REOPENABLE and kp.is_open:
                # Closed before, and named by a push still to verify: verify again, as a new list would.
                other.round += 1
                other.category, other.due_at, other.received_at = kp.category, kp.due_at, kp.received_at
                other.verified_at, other.classified_category, other.measure_type = None, "", ""
                other.measure_start = other.measure_end = None
                here = Route(kp.route_method, kp.community_id, kp.grid_id, kp.household_id, kp.compound_id)
                _assign(actor, other, _homes([person.pk]).get(person.pk) or here)
                other.updated_by = _user(actor)
                other.save()
            elif kp.due_at < other.due_at and other.is_open:
                other.due_at = kp.due_at
                other.save(update_fields=["due_at", "updated_at"])
            kp.delete()
            _retire_pushed_person(pushed_person, person)
            return other
        kp.person = person
        kp.candidates = []
        fields = ["person", "candidates", "updated_by", "updated_at"]
        home = _homes([person.pk]).get(person.pk)
        if (
            home is not None
            and kp.is_open
            and (home.community_id, home.grid_id) != (kp.community_id, kp.grid_id)
        ):
            _cancel_item(kp, _("Routed to the confirmed person's household."))
            _assign(actor, kp, home)
            fields += _ROUTE_FIELDS
        kp.updated_by = _user(actor)
        kp.save(update_fields=sorted(set(fields)))
        _retire_pushed_person(pushed_person, person)
        audit.record(actor=actor, action="screening.confirm_candidate", obj=kp,
                     changes={"person": [pushed_person, person.pk]})  # fmt: skip
    return kp


def _retire_pushed_person(pushed_id: int, person: Person) -> None:
    """The person registered from the list turned out to be `person`: the register person takes the
    pushed document and phone where they had none (so the next list finds them), and the stand-in goes
    — unless it has a life of its own on the register (a household, a key person)."""
    from jiedao.core.identity import mask_phone
    from jiedao.registry.identity import apply_identity, phone_lookup_key

    stand_in = Person.objects.filter(pk=pushed_id).exclude(pk=person.pk).first()
    if (
        stand_in is None
        or stand_in.residencies.exists()
        or KeyPerson.objects.filter(person=stand_in).exists()
    ):
        return
    doc = (stand_in.id_type, stand_in.id_number) if stand_in.id_index and not person.id_index else None
    phone = stand_in.phone if stand_in.phone_index and not person.phone_index else ""
    stand_in.delete()
    if doc:
        apply_identity(person, id_type=doc[0], id_number=doc[1], phone=phone or person.phone)
    elif phone:
        person.phone, person.phone_index, person.phone_masked = (
            phone,
            phone_lookup_key(phone),
            mask_phone(phone),
        )
    if doc or phone:
        person.save()


def do_dismiss_candidates(*, actor: Any, kp: KeyPerson) -> KeyPerson:
    _require_in_area(actor, VERIFY_ROLES, kp, _("Your role may not confirm matches here."))
    with transaction.atomic():
        kp.candidates = []
        kp.updated_by = _user(actor)
        kp.save(update_fields=["candidates", "updated_by", "updated_at"])
        audit.record(actor=actor, action="screening.dismiss_candidates", obj=kp)
    return kp


# ---- verification -------------------------------------------------------------------------------


def do_verify_key_person(
    *,
    actor: Any,
    kp: KeyPerson,
    outcome: str,
    attempts: int = 1,
    where: str = "",
    current_address: str = "",
    symptoms: bool = False,
    symptom_notes: str = "",
    last_exposure: dt.date | None = None,
    category: str | None = None,
    notes: str = "",
    today: dt.date | None = None,
) -> Verification:
    """Record a verification. Reached in the area: the person is classified into `category` (one the
    protocol offers, or "" for no measure) with its measure laid out from the last exposure. Reached
    elsewhere, or the wrong person: closed, and the issuer sees where. Unreachable: stays open."""
    _require_in_area(actor, VERIFY_ROLES, kp, _("Your role may not verify people here."))
    today = today or timezone.localdate()
    if outcome not in Outcome.values:
        raise InvalidInput(_("Choose an outcome."), field="outcome")
    if kp.status != KeyPersonStatus.TO_VERIFY:
        raise Conflict(_("This person is not waiting for verification (now: %(status)s).")
                       % {"status": kp.get_status_display()})  # fmt: skip
    if not 1 <= int(attempts) <= 50:
        raise InvalidInput(_("Attempts must be between 1 and 50."), field="attempts")
    where, current_address = (where or "").strip()[:200], (current_address or "").strip()[:200]
    if outcome == Outcome.REACHED_ELSEWHERE and not where:
        raise InvalidInput(_("Say where the person is now."), field="where")
    if last_exposure is not None and last_exposure > today:
        raise InvalidInput(_("The last exposure cannot be in the future."), field="last_exposure")
    protocol = get_protocol(kp.protocol_key)
    proposal = propose(protocol, kp.category, last_exposure=last_exposure, symptoms=symptoms, today=today)
    # Everything is checked before the key person is touched, so a refused form leaves it as it was.
    if outcome == Outcome.REACHED_IN_AREA:
        if category is None:
            raise InvalidInput(_("Confirm the category."), field="category")
        if category not in proposal.keys:
            raise InvalidInput(
                _("“%(value)s” is not a category this person can be classified into.") % {"value": category},
                field="category",
            )
    v = Verification(
        key_person=kp, attempts=attempts, outcome=outcome, where=where, current_address=current_address,
        symptoms=bool(symptoms), symptom_notes=(symptom_notes or "").strip()[:200], last_exposure=last_exposure,
        proposed_category=proposal.proposed, notes=(notes or "").strip()[:2000],
        created_by=_user(actor), updated_by=_user(actor),
    )  # fmt: skip
    with transaction.atomic():
        kp.attempts = _lock_unchanged(kp) + int(attempts)
        if outcome == Outcome.REACHED_IN_AREA:
            assert category is not None
            v.category = category
            option = proposal.option(category)
            if option is not None and not option.passed:
                measure = protocol.category(category).measure
                v.measure_type = str(measure.type)
                v.measure_start, v.measure_end = option.start, option.end
                kp.status = KeyPersonStatus.CLASSIFIED
            else:
                kp.status = KeyPersonStatus.CLEARED
            kp.classified_category = category
            kp.measure_type, kp.measure_start, kp.measure_end = v.measure_type, v.measure_start, v.measure_end
        elif outcome == Outcome.REACHED_ELSEWHERE:
            kp.status = KeyPersonStatus.ELSEWHERE
        elif outcome == Outcome.WRONG_PERSON:
            kp.status = KeyPersonStatus.WRONG_PERSON
        if current_address:
            kp.address_text = current_address
        closing = kp.status != KeyPersonStatus.TO_VERIFY
        if closing:
            kp.verified_at = timezone.now()
        kp.updated_by = _user(actor)
        v.save()
        kp.save(
            update_fields=["attempts", "status", "classified_category", "measure_type", "measure_start",
                           "measure_end", "address_text", "verified_at", "updated_by", "updated_at"]
        )  # fmt: skip
        if closing:
            _complete_item(kp, _outcome_text(kp, v))
        audit.record(
            actor=actor, action="screening.verify", obj=kp,
            changes={"outcome": outcome, "attempts": attempts, "category": v.category,
                     "proposed": proposal.proposed, "measure": v.measure_type, "status": kp.status},
        )  # fmt: skip
    return v


def _outcome_text(kp: KeyPerson, v: Verification) -> str:
    text = str(Outcome(v.outcome).label)
    if v.where:
        text += f": {v.where}"
    if kp.status == KeyPersonStatus.CLASSIFIED:
        label = get_protocol(kp.protocol_key).category(kp.classified_category).label
        text += f" — {label}, {v.measure_start}–{v.measure_end}"
    return text


# ---- exports ------------------------------------------------------------------------------------


def do_export_key_persons(*, actor: Any, queryset: Any, filters: dict[str, Any]) -> bytes:
    ledger = exports.key_person_xlsx(queryset)
    audit.record(actor=actor, action="screening.export_key_persons", object_type="screening.keyperson",
                 changes={"filters": filters, "rows": ledger.rows})  # fmt: skip
    return ledger.data


def do_export_list_results(*, actor: Any, plist: PushedList) -> bytes:
    """The feedback to send back up the chain: every entry of the list and what became of it."""
    ledger = exports.list_results_xlsx(plist)
    audit.record(
        actor=actor, action="screening.export_list_results", obj=plist, changes={"rows": ledger.rows}
    )
    return ledger.data


STALE_AFTER = dt.timedelta(days=2)


def do_forget_stale_lists(now: dt.datetime | None = None) -> int:
    """Delete lists uploaded but never received for two days, and their kept files (full ID numbers,
    encrypted) unless another list still needs the same file. Returns how many went."""
    now = now or timezone.now()
    stale = list(
        PushedList.objects.filter(committed=False, created_at__lt=now - STALE_AFTER).only("pk", "sha256")
    )
    if not stale:
        return 0
    with transaction.atomic():
        PushedList.objects.filter(pk__in=[p.pk for p in stale]).delete()
        audit.record(actor=None, action="screening.forget_stale_lists", object_type="screening.pushedlist",
                     changes={"lists": len(stale)})  # fmt: skip
    still_needed = set(
        PushedList.objects.filter(committed=False, sha256__in=[p.sha256 for p in stale]).values_list(
            "sha256", flat=True
        )
    )
    for digest in {p.sha256 for p in stale} - still_needed:
        if digest:
            transaction.on_commit(functools.partial(forget_upload, digest))
    return len(stale)
