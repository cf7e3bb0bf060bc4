"""Trace runs: the command centre starts one from a case, a worker runs the engine over the presence
store and saves the contacts with their evidence, and the contacts are pushed to screening as pushed
lists whose basis is the run."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.control.choices import TestResult
from jiedao.control.models import ControlCase
from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.places.models import Place, VenueCheckin
from jiedao.registry.choices import IdType
from jiedao.registry.models import Person
from jiedao.screening.actions import MAX_API_ENTRIES, check_list_meta, do_open_list, do_push_entries
from jiedao.screening.choices import Source
from jiedao.screening.models import PushedEntry
from jiedao.tracing import engine
from jiedao.tracing.choices import ACTIVE_STATUSES, Relation, RunStatus, Stage
from jiedao.tracing.models import TraceContact, TraceRun
from jiedao.tracing.queries import RUN_ROLES, subdistrict_wide
from jiedao.tracing.rules import Rules

log = logging.getLogger(__name__)

MAX_LOOKBACK_DAYS = 14
SAVE_CHUNK = 2_000
# A person found under several relations (two index cases) is pushed once, under the most serious.
PUSH_ORDER = (Relation.CLOSE, Relation.SECONDARY, Relation.COMPANION)
PUSH_SOURCE = {
    Relation.CLOSE: Source.CLOSE_CONTACT,
    Relation.SECONDARY: Source.SECONDARY_CONTACT,
    Relation.COMPANION: Source.COMPANION,
}


def _require_runner(actor: Any) -> None:
    if actor is not None and not subdistrict_wide(actor, RUN_ROLES):
        raise Forbidden(_("Only the subdistrict command centre runs traces."))


def default_onset(case: ControlCase) -> dt.datetime:
    """When the index case's look-back ends: the sampling time of its first positive test, else the
    morning of that test's day, else when the case was opened."""
    test = case.tests.filter(result=TestResult.POSITIVE).order_by("test_date", "pk").first()
    if test is not None:
        if test.sampled_at:
            return test.sampled_at
        return timezone.make_aware(dt.datetime.combine(test.test_date, dt.time(8, 0)))
    return case.created_at


def retention_start(now: dt.datetime | None = None) -> dt.date:
    today = timezone.localdate(now or timezone.now())
    return today - dt.timedelta(days=settings.PRESENCE_RETENTION_DAYS)


def do_start_trace(
    *,
    actor: Any,
    case: ControlCase,
    onset: dt.datetime | None = None,
    lookback_days: int = 4,
    secondary: bool = True,
    companions: bool = True,
) -> TraceRun:
    """Queue a trace of `case`'s person from `onset` (default: its positive test) back `lookback_days`.
    The run itself happens in the worker (jobs.run_trace), after this commits."""
    _require_runner(actor)
    person = case.person
    if not person.id_index:
        raise InvalidInput(
            _("%(name)s has no document number on the register, so their presence records cannot be found.")
            % {"name": person.name},
            field="case",
        )
    onset = onset or default_onset(case)
    if timezone.is_naive(onset):
        onset = timezone.make_aware(onset)
    now = timezone.now()
    if onset > now + dt.timedelta(minutes=5):
        raise InvalidInput(_("The onset or sampling time cannot be in the future."), field="onset")
    kept_from = retention_start(now)
    if timezone.localdate(onset) < kept_from:
        raise InvalidInput(
            _("Presence data before %(day)s has been purged: a trace from this onset would find nothing.")
            % {"day": kept_from.isoformat()},
            field="onset",
        )
    if (
        isinstance(lookback_days, bool)
        or not isinstance(lookback_days, int)
        or not 1 <= lookback_days <= MAX_LOOKBACK_DAYS
    ):
        raise InvalidInput(
            _("The look-back is 1 to %(n)s days.") % {"n": MAX_LOOKBACK_DAYS}, field="lookback_days"
        )
    active = TraceRun.objects.filter(case=case, status__in=ACTIVE_STATUSES).first()
    if active is not None:
        raise Conflict(
            _("A trace of this case is already under way (run #%(n)s): wait for it to finish.")
            % {"n": active.pk},
            field="case",
        )
    rules = Rules(lookback_days=lookback_days, secondary=secondary)
    if companions:
        rules = rules.with_companions()
    user = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        run = TraceRun.objects.create(
            case=case,
            index_cases=[
                {
                    "person_key": person.id_index,
                    "onset": onset.astimezone(dt.UTC).isoformat(),
                    "name": person.name,
                    "case_id": case.pk,
                }
            ],
            rules=rules.to_dict(),
            created_by=user,
            updated_by=user,
        )
        audit.record(
            actor=actor,
            action="tracing.start",
            obj=run,
            changes={"case": case.pk, "onset": onset.isoformat(), "rules": rules.to_dict()},
        )
        # robust: a queue that is down must not turn a saved run into an error page (the reclaim job
        # queues it again)
        transaction.on_commit(lambda: _enqueue(run.pk), robust=True)
    return run


def _enqueue(run_id: int) -> None:
    from jiedao.tracing.jobs import run_trace

    run_trace(run_id)


def _stage(run_id: int, stage: str, progress: int) -> None:
    TraceRun.objects.filter(pk=run_id).update(stage=stage, progress=progress, updated_at=timezone.now())


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def do_run_trace(run_id: int, *, root: str | Path | None = None) -> TraceRun:
    """Run a queued trace once: a second call (a retried job) finds it no longer queued and does
    nothing. Progress is saved as it goes; a failure is recorded on the run, never swallowed."""
    taken = TraceRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING,
        stage=Stage.CHECKINS,
        progress=5,
        started_at=timezone.now(),
        updated_at=timezone.now(),
    )
    run = TraceRun.objects.get(pk=run_id)
    if not taken:
        return run
    try:
        flush_error = _flush_checkins(root)
        _stage(run_id, Stage.MATCHING, 15)
        rules = Rules.from_dict(run.rules)
        cases = [
            (c["person_key"], dt.datetime.fromisoformat(c["onset"]).astimezone(dt.UTC).replace(tzinfo=None))
            for c in run.index_cases
        ]
        from jiedao.tracing.store import default_root

        result = engine.trace(Path(root) if root else default_root(), cases, rules, engine="duckdb")
        _stage(run_id, Stage.SAVING, 60)
        _save_contacts(run, result.rows)
        counts = {
            "records": result.records_scanned,
            "seconds": round(result.seconds, 2),
            "rows": len(result.rows),
            **{
                rel.value: len({r.contact_key for r in result.rows if r.relation == rel.value})
                for rel in Relation
            },
            "on_register": run.contacts.filter(person__isnull=False).values("contact_key").distinct().count(),
            "people": len({r.contact_key for r in result.rows}),
        }
        report = {
            "index_without_data": result.index_without_data,
            "empty_days": [d.isoformat() for d in result.empty_days],
            "days_read": [d.isoformat() for d in result.days_read],
            "bad_records": result.bad_records,
            "unruled_records": result.unruled_records,
            "checkins_flush_error": flush_error,
        }
        with transaction.atomic():
            finished = TraceRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
                status=RunStatus.DONE,
                stage=Stage.DONE,
                progress=100,
                finished_at=timezone.now(),
                counts=counts,
                report=report,
                updated_at=timezone.now(),
            )
            if not finished:  # reclaimed as stalled meanwhile: its rows go, the run stays failed
                TraceContact.objects.filter(run_id=run_id).delete()
            else:
                audit.record(actor=None, action="tracing.done", obj=run, changes=counts)
    except Exception as exc:  # the run says it failed and why; the worker goes on
        log.exception("trace run %s failed", run_id)
        TraceContact.objects.filter(run_id=run_id).delete()
        with transaction.atomic():
            TraceRun.objects.filter(pk=run_id).update(
                status=RunStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                finished_at=timezone.now(),
                updated_at=timezone.now(),
            )
            audit.record(actor=None, action="tracing.failed", obj=run, changes={"error": str(exc)[:500]})
    run.refresh_from_db()
    return run


def _flush_checkins(root: str | Path | None) -> str:
    """The latest venue check-ins into the store before the trace reads it (all of them, in pages).
    A failure is logged and reported on the run; the trace goes on with what the store holds."""
    from jiedao.tracing.actions.checkins import do_flush_venue_checkins

    try:
        for _page in range(100):
            if do_flush_venue_checkins(root=root).taken == 0:
                break
    except Exception as exc:
        log.exception("flushing venue check-ins before a trace failed")
        return f"{type(exc).__name__}: {exc}"[:300]
    return ""


STALE_RUNNING = dt.timedelta(minutes=30)  # no progress for this long: the worker died
STALE_QUEUED = dt.timedelta(minutes=10)  # not taken for this long: the job was lost


def do_reclaim_stale_runs(now: dt.datetime | None = None) -> dict[str, int]:
    """Runs a dead worker left RUNNING are failed (their partial rows removed) so that they can be
    started again; runs whose job was lost are queued again (taking a run is atomic, so a second
    delivery does nothing)."""
    now = now or timezone.now()
    stalled = list(
        TraceRun.objects.filter(status=RunStatus.RUNNING, updated_at__lt=now - STALE_RUNNING).values_list(
            "pk", flat=True
        )
    )
    failed = 0
    for pk in stalled:
        with transaction.atomic():
            n = TraceRun.objects.filter(
                pk=pk, status=RunStatus.RUNNING, updated_at__lt=now - STALE_RUNNING
            ).update(
                status=RunStatus.FAILED,
                error=str(_("The worker stopped before the trace finished: start it again.")),
                finished_at=now,
                updated_at=now,
            )
            if n:
                TraceContact.objects.filter(run_id=pk).delete()
                audit.record(actor=None, action="tracing.failed", object_type="tracing.tracerun", object_id=pk,
                             changes={"error": "stalled"})  # fmt: skip
                failed += 1
    lost = list(
        TraceRun.objects.filter(status=RunStatus.QUEUED, updated_at__lt=now - STALE_QUEUED).values_list(
            "pk", flat=True
        )
    )
    for pk in lost:
        TraceRun.objects.filter(pk=pk).update(updated_at=now)
        _enqueue(pk)
    return {"failed": failed, "requeued": len(lost)}


def _save_contacts(run: TraceRun, rows: list[engine.TraceRow]) -> None:
    """The engine's rows with the register's persons (by blind index) and the venues (by code)."""
    keys = {r.contact_key for r in rows} | {r.via_key for r in rows if r.via_key}
    persons: dict[str, int] = {}
    for chunk in _chunks(sorted(keys), 1000):
        persons.update(Person.objects.filter(id_index__in=chunk).values_list("id_index", "pk"))
    codes = sorted({r.place_key for r in rows})
    places: dict[str, int] = {}
    for chunk in _chunks(codes, 1000):
        places.update(Place.objects.filter(venue_code__in=chunk).values_list("venue_code", "pk"))
    total = max(1, len(rows))
    for done, chunk in enumerate(_chunks(rows, SAVE_CHUNK), start=1):
        TraceContact.objects.bulk_create(
            TraceContact(
                run=run,
                index_key=r.index_key,
                contact_key=r.contact_key,
                place_key=r.place_key,
                overlap_start=_aware(r.overlap_start),
                overlap_end=_aware(r.overlap_end),
                minutes=r.minutes,
                source=r.source,
                degree=r.degree,
                relation=r.relation,
                via_key=r.via_key or "",
                person_id=persons.get(r.contact_key),
                via_person_id=persons.get(r.via_key) if r.via_key else None,
                place_id=places.get(r.place_key),
            )
            for r in chunk
        )
        _stage(run.pk, Stage.SAVING, 60 + min(35, 35 * done * SAVE_CHUNK // total))


# ---- pushing to screening --------------------------------------------------------------------------


@dataclass
class Identity:
    """What a pushed entry needs to find the person: from the register, or from a venue check-in."""

    name: str
    id_type: str
    id_number: str
    phone: str


@dataclass
class PushSummary:
    lists: list[Any] = field(default_factory=list)
    created: int = 0
    duplicates: int = 0
    unidentified: list[str] = field(default_factory=list)  # contact keys with no name or document here


def identities(keys: list[str]) -> dict[str, Identity]:
    """Register persons by blind index first; visitors by their latest venue check-in."""
    found: dict[str, Identity] = {}
    for chunk in _chunks(keys, 1000):
        for p in Person.objects.filter(id_index__in=chunk):
            found[p.id_index] = Identity(p.name, p.id_type, p.id_number or "", p.phone or "")
    missing = [k for k in keys if k not in found]
    for chunk in _chunks(missing, 1000):
        for c in VenueCheckin.objects.filter(person_key__in=chunk).order_by("scanned_at", "pk"):
            found[c.person_key] = Identity(c.name, IdType.RESIDENT_ID, c.id_number or "", c.phone or "")
    return found


def _first_rows(run: TraceRun) -> dict[str, TraceContact]:
    """Per contact: the row it is pushed under (most serious relation, then the earliest exposure)."""
    rank = {rel.value: n for n, rel in enumerate(PUSH_ORDER)}
    best: dict[str, TraceContact] = {}
    for c in run.contacts.select_related("place").order_by("overlap_start", "pk"):
        old = best.get(c.contact_key)
        if old is None or rank[c.relation] < rank[old.relation]:
            best[c.contact_key] = c
    return best


def _note(c: TraceContact) -> str:
    place = c.place.name if c.place else c.place_key
    start = timezone.localtime(c.overlap_start)
    text = _("With the index case at %(place)s from %(start)s for %(minutes)s min") % {
        "place": place,
        "start": start.strftime("%Y-%m-%d %H:%M"),
        "minutes": f"{c.minutes:g}",
    }
    if c.via_key:
        text = _("Met a close contact at %(place)s from %(start)s for %(minutes)s min") % {
            "place": place,
            "start": start.strftime("%Y-%m-%d %H:%M"),
            "minutes": f"{c.minutes:g}",
        }
    return text


def _entry_key(run: TraceRun, contact_key: str) -> str:
    return f"trace-{run.pk}-{contact_key}"


def do_push_trace_contacts(*, actor: Any, run: TraceRun) -> PushSummary:
    """Push the run's contacts to screening: one pushed list per relation, basis = this run. Each
    contact's entry key is made from the run and the contact, and contacts already pushed from this
    run (by anyone) are left out, so pushing again adds only who is new and doubles nothing. All of it
    or nothing is written."""
    _require_runner(actor)
    if run.status != RunStatus.DONE:
        raise Conflict(_("The trace has not finished: push its contacts when it is done."))
    best = _first_rows(run)
    who = identities(sorted(best))
    pushed: set[str] = set()
    keys = [_entry_key(run, k) for k in best]
    for chunk in _chunks(keys, 1000):
        pushed.update(PushedEntry.objects.filter(client_key__in=chunk).values_list("client_key", flat=True))
    summary = PushSummary(unidentified=sorted(k for k in best if k not in who))
    summary.duplicates = sum(1 for k in best if _entry_key(run, k) in pushed)
    todo = sorted(k for k in best if k in who and _entry_key(run, k) not in pushed)
    if not todo:
        raise InvalidInput(
            _("Nothing new to push: %(done)s already pushed, %(none)s with no name or document here.")
            % {"done": summary.duplicates, "none": len(summary.unidentified)},
            field="run",
        )
    label = _("Trace run #%(n)s") % {"n": run.pk}
    with transaction.atomic():
        for relation in PUSH_ORDER:
            rows = [best[k] for k in todo if best[k].relation == relation.value]
            if not rows:
                continue
            meta = check_list_meta(
                title=_("%(relation)s from trace run #%(n)s") % {"relation": relation.label, "n": run.pk},
                issuer=label,
                source=PUSH_SOURCE[relation],
            )
            plist, _created = do_open_list(
                actor=actor,
                client_key=f"trace-{run.pk}-{relation.value}",
                meta=meta,
                basis_label=label,
                basis_url=run.get_absolute_url(),
            )
            entries = [
                {
                    "key": _entry_key(run, c.contact_key),
                    "name": who[c.contact_key].name,
                    "id_type": who[c.contact_key].id_type,
                    "id_number": who[c.contact_key].id_number,
                    "phone": who[c.contact_key].phone,
                    "exposed_at": timezone.localtime(c.overlap_start),
                    "note": _note(c),
                }
                for c in rows
            ]
            for batch in _chunks(entries, MAX_API_ENTRIES):
                result = do_push_entries(actor=actor, plist=plist, entries=batch)
                summary.created += result.created
            summary.lists.append(plist)
        run.pushed_lists.add(*summary.lists)
        run.pushed_at = timezone.now()
        run.save(update_fields=["pushed_at", "updated_at"])
        audit.record(
            actor=actor,
            action="tracing.push",
            obj=run,
            changes={
                "lists": [p.pk for p in summary.lists],
                "created": summary.created,
                "already_pushed": summary.duplicates,
                "unidentified": len(summary.unidentified),
            },
        )
    return summary


def do_export_contacts(*, actor: Any, run: TraceRun, queryset: Any, filters: dict[str, Any]) -> bytes:
    """The run's contacts as an Excel ledger, on record."""
    from jiedao.tracing.exports import contacts_xlsx

    ledger = contacts_xlsx(run, queryset)
    audit.record(
        actor=actor,
        action="tracing.export_contacts",
        obj=run,
        changes={"filters": filters, "rows": ledger.rows},
    )
    return ledger.data
