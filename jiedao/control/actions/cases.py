"""Writes for control cases. Every status change is an action with its basis (rule 4 of the design:
coercive status needs a linked source record or a stated reason), recorded as a CaseChange and in the
audit log; every case has an end date from its protocol."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.control import teams
from jiedao.control.choices import OPEN_STATUSES, CaseStatus
from jiedao.control.models import CareTeamMember, CaseChange, CheckinLink, ControlCase, HealthCheck
from jiedao.control.plans import build_plan, has_measure, plan_end, plan_start, summary
from jiedao.control.queries import CHECKIN_ROLES, MANAGE_ROLES, can_in_area
from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.protocols.choices import MeasureType
from jiedao.protocols.registry import get_protocol
from jiedao.registry.queries import current_household
from jiedao.screening.choices import KeyPersonStatus
from jiedao.screening.models import KeyPerson


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _require_manager(actor: Any, obj: Any) -> None:
    if actor is not None and not can_in_area(actor, MANAGE_ROLES, obj):
        raise Forbidden(_("Only the community office or the command centre decides on control measures."))


def _basis(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("State the basis: what justifies this change."), field="basis")
    if len(text) > 300:
        raise InvalidInput(_("The basis is longer than 300 characters."), field="basis")
    return text


def _end_attached(actor: Any, case: ControlCase, why: str) -> dict[str, int]:
    """A closed case ends everything attached to it, visibly: its personal check-in links stop working,
    its open work items (tests, check-ins, supplies, release) are cancelled with the reason, open
    transfers are cancelled and open supply requests closed. Returns what was ended, for the audit."""
    from jiedao.control.choices import (
        OPEN_SUPPLY_STATUSES,
        OPEN_TRANSFER_STATUSES,
        SupplyStatus,
        TransferStatus,
    )
    from jiedao.work.choices import OPEN_STATUSES as OPEN_WORK
    from jiedao.work.choices import WorkStatus
    from jiedao.work.models import WorkItem

    now = timezone.now()
    links = case.checkin_links.filter(revoked_at__isnull=True).update(revoked_at=now)
    supply_ids = [str(pk) for pk in case.supply_requests.values_list("pk", flat=True)]
    items = WorkItem.objects.filter(status__in=OPEN_WORK).filter(
        Q(subject_type="control.controlcase", subject_id=str(case.pk))
        | Q(subject_type="control.supplyrequest", subject_id__in=supply_ids)
    )
    items_n = items.update(status=WorkStatus.CANCELLED, done_at=now, outcome=why[:2000], updated_at=now)
    transfers = case.transfers.filter(status__in=OPEN_TRANSFER_STATUSES).update(
        status=TransferStatus.CANCELLED, cancelled_at=now, note=why[:300], updated_at=now
    )
    supplies = case.supply_requests.filter(status__in=OPEN_SUPPLY_STATUSES).update(
        status=SupplyStatus.CLOSED, outcome=why[:300], updated_at=now
    )
    ended = {"links": links, "work_items": items_n, "transfers": transfers, "supply_requests": supplies}
    from jiedao.control.hooks import run_end_hooks

    ended.update(run_end_hooks(actor, case, why))  # e.g. door sensors come off
    return {k: v for k, v in ended.items() if v}


def _change(actor: Any, case: ControlCase, before: str, basis: str) -> None:
    CaseChange.objects.create(
        case=case, from_status=before, to_status=case.status, basis=basis,
        created_by=_user(actor), updated_by=_user(actor),
    )  # fmt: skip


def do_open_case(*, actor: Any, key_person: KeyPerson) -> ControlCase:
    """A case for a verified key person, with the measure the verification confirmed, laid out from its
    first day. The key person is the case's basis."""
    _require_manager(actor, key_person)
    if key_person.status != KeyPersonStatus.CLASSIFIED or not key_person.measure_start:
        raise Conflict(_("Only a verified key person classified under a measure can be put under control."))
    category = key_person.classified_category
    if not has_measure(key_person.protocol_key, category):
        raise InvalidInput(_("The protocol gives this category no control measure."), field="category")
    plan = build_plan(key_person.protocol_key, category, key_person.measure_start)
    if plan_end(plan) < timezone.localdate():
        raise Conflict(_("This person's measure ended on %(end)s: there is nothing to control.")
                       % {"end": plan_end(plan).isoformat()})  # fmt: skip
    label = get_protocol(key_person.protocol_key).category(category).label
    basis = _("Key person #%(pk)s verified as %(category)s") % {"pk": key_person.pk, "category": label}
    person = key_person.person
    case = ControlCase(
        person=person, key_person=key_person, household=key_person.household or current_household(person),
        community_id=key_person.community_id, grid_id=key_person.grid_id, protocol_key=key_person.protocol_key,
        category=category, measure_type=plan["phases"][0]["type"], start_date=plan_start(plan),
        end_date=plan_end(plan), plan=plan, created_by=_user(actor), updated_by=_user(actor),
    )  # fmt: skip
    try:
        with transaction.atomic():
            case.save()
            _change(actor, case, "", basis)
            audit.record(
                actor=actor, action="control.open_case", obj=case,
                changes={"key_person": key_person.pk, "category": category, "plan": summary(plan)}, reason=basis,
            )  # fmt: skip
    except IntegrityError:
        raise Conflict(_("This person is already under control."))
    return case


def do_start_case(*, actor: Any, case: ControlCase, basis: str) -> ControlCase:
    """The measure begins (the person is at the quarantine site, or home with a care team)."""
    _require_manager(actor, case)
    basis = _basis(basis)
    with transaction.atomic():
        fresh = ControlCase.objects.select_for_update().get(pk=case.pk)
        if fresh.status != CaseStatus.PENDING:
            raise Conflict(
                _("Only a pending case can start (now: %(status)s).") % {"status": fresh.get_status_display()}
            )
        from jiedao.control.choices import OPEN_TRANSFER_STATUSES

        if fresh.transfers.filter(status__in=OPEN_TRANSFER_STATUSES).exists():
            raise Conflict(_("This person is being transferred: the measure starts when the site confirms."))
        if teams.needs_team(fresh) and (gaps := teams.missing(fresh)):
            raise Conflict(
                _("Home quarantine starts only with a full care team; still missing: %(slots)s.")
                % {"slots": "、".join(teams.slot_label(s) for s in gaps)},
                field="team",
            )
        fresh.status = CaseStatus.ACTIVE
        fresh.updated_by = _user(actor)
        fresh.save(update_fields=["status", "updated_by", "updated_at"])
        _change(actor, fresh, CaseStatus.PENDING, basis)
        audit.record(actor=actor, action="control.start_case", obj=fresh, reason=basis,
                     changes={"status": [CaseStatus.PENDING, CaseStatus.ACTIVE]})  # fmt: skip
        from jiedao.control.actions.care import do_create_test_items

        do_create_test_items(cases=[fresh])
    case.status = fresh.status
    return case


def do_cancel_case(*, actor: Any, case: ControlCase, basis: str) -> ControlCase:
    """Withdraw a case opened in error (the wrong person, a duplicate); a finished measure is a release."""
    _require_manager(actor, case)
    basis = _basis(basis)
    with transaction.atomic():
        fresh = ControlCase.objects.select_for_update().get(pk=case.pk)
        if fresh.status not in OPEN_STATUSES:
            raise Conflict(_("This case is already closed."))
        before = fresh.status
        fresh.status = CaseStatus.CANCELLED
        fresh.updated_by = _user(actor)
        fresh.save(update_fields=["status", "updated_by", "updated_at"])
        ended = _end_attached(actor, fresh, _("Case cancelled: %(basis)s") % {"basis": basis})
        _change(actor, fresh, before, basis)
        audit.record(actor=actor, action="control.cancel_case", obj=fresh, reason=basis,
                     changes={"status": [before, CaseStatus.CANCELLED], "ended": ended})  # fmt: skip
    case.status = fresh.status
    return case


def measure_choices(protocol_key: str) -> list[tuple[str, str]]:
    """The categories of the protocol that carry a measure (what a case can be changed to)."""
    protocol = get_protocol(protocol_key)
    return [(c.key, c.label) for c in protocol.categories.values() if has_measure(protocol.key, c.key)]


def preview_measure(case: ControlCase, category: str, start: dt.date | None = None) -> dict[str, Any]:
    """The plan the case would have under `category` from `start` (default: its own start day)."""
    if category not in dict(measure_choices(case.protocol_key)):
        raise InvalidInput(_("Choose a category that carries a measure."), field="category")
    return build_plan(case.protocol_key, category, start or case.start_date)


def do_change_measure(
    *, actor: Any, case: ControlCase, category: str, basis: str, start: dt.date | None = None
) -> ControlCase:
    """Put the case under another category's measure (the page shows `preview_measure` first)."""
    _require_manager(actor, case)
    basis = _basis(basis)
    plan = preview_measure(case, category, start)
    with transaction.atomic():
        fresh = ControlCase.objects.select_for_update().get(pk=case.pk)
        if fresh.status not in OPEN_STATUSES:
            raise Conflict(_("This case is already closed."))
        before = summary(fresh.plan)
        fresh.category, fresh.plan = category, plan
        fresh.measure_type = plan["phases"][0]["type"]
        fresh.start_date, fresh.end_date = plan_start(plan), plan_end(plan)
        fresh.updated_by = _user(actor)
        fresh.save(
            update_fields=[
                "category",
                "plan",
                "measure_type",
                "start_date",
                "end_date",
                "updated_by",
                "updated_at",
            ]
        )
        audit.record(actor=actor, action="control.change_measure", obj=fresh, reason=basis,
                     changes={"plan": [before, summary(plan)], "category": category})  # fmt: skip
    for f in ("category", "plan", "measure_type", "start_date", "end_date"):
        setattr(case, f, getattr(fresh, f))
    return case


# ---- the schedule moves on, and release ---------------------------------------------------------


def current_phase(case: ControlCase, today: dt.date) -> int:
    """Index of the phase `today` falls in (the last one once the plan is over)."""
    for i, phase in enumerate(case.phases):
        if today <= dt.date.fromisoformat(phase["end"]):
            return i
    return max(len(case.phases) - 1, 0)


def do_advance_cases(today: dt.date | None = None) -> list[ControlCase]:
    """The daily step of the schedule: an active case whose first measure has ended moves to its
    follow-on (e.g. centralised quarantine → home health monitoring). The protocol's schedule is the
    basis. Cases past their last day are not released here: release is a person's decision."""
    today = today or timezone.localdate()
    moved = []
    for case in ControlCase.objects.filter(status=CaseStatus.ACTIVE).order_by("pk").iterator(chunk_size=500):
        if len(case.phases) < 2 or current_phase(case, today) == 0:
            continue
        with transaction.atomic():
            won = ControlCase.objects.filter(pk=case.pk, status=CaseStatus.ACTIVE).update(
                status=CaseStatus.MONITORING, updated_at=timezone.now()
            )
            if not won:
                continue
            case.status = CaseStatus.MONITORING
            first = case.phases[0]
            basis = _("Schedule: %(measure)s ended on %(end)s") % {
                "measure": MeasureType(first["type"]).label,
                "end": first["end"],
            }
            _change(None, case, CaseStatus.ACTIVE, basis)
            audit.record(actor=None, action="control.advance_case", obj=case, reason=basis,
                         changes={"status": [CaseStatus.ACTIVE, CaseStatus.MONITORING]})  # fmt: skip
        moved.append(case)
    return moved


def release_blockers(case: ControlCase, today: dt.date) -> list[str]:
    """Why the case cannot be released today (empty: it can): the release criteria. The measure's last
    day has come; no test was positive; the last test day of the plan has a negative result; the last
    check-in showed no fever or symptoms."""
    from jiedao.control.choices import TestResult

    out = []
    if case.status not in (CaseStatus.ACTIVE, CaseStatus.MONITORING):
        out.append(
            _("Only a case under its measure can be released (now: %(status)s).")
            % {"status": case.get_status_display()}
        )
    if case.end_date > today:
        out.append(_("The measure lasts until %(end)s.") % {"end": case.end_date.isoformat()})
    results = dict(case.tests.values_list("test_date", "result"))
    positive = sorted(d for d, r in results.items() if r == TestResult.POSITIVE)
    if positive:
        out.append(_("The test of %(date)s was positive.") % {"date": positive[-1].isoformat()})
    test_days = sorted(dt.date.fromisoformat(d) for p in case.phases for d in p.get("tests", []))
    if test_days and results.get(test_days[-1]) != TestResult.NEGATIVE:
        out.append(
            _("The test of %(date)s has no negative result yet.") % {"date": test_days[-1].isoformat()}
        )
    last = case.checkins.filter(temperature__isnull=False).order_by("-slot_at").first()
    if last is not None and last.abnormal:
        out.append(
            _("The last check-in (%(at)s) showed fever or symptoms.")
            % {"at": f"{timezone.localtime(last.slot_at):%m-%d %H:%M}"}
        )
    return out


def do_release_case(
    *, actor: Any, case: ControlCase, basis: str, today: dt.date | None = None
) -> ControlCase:
    """Release on or after the last day of the plan, with the basis (e.g. the last test negative)."""
    _require_manager(actor, case)
    basis = _basis(basis)
    today = today or timezone.localdate()
    with transaction.atomic():
        fresh = ControlCase.objects.select_for_update().get(pk=case.pk)
        blockers = release_blockers(fresh, today)
        if blockers:
            raise Conflict(" ".join(blockers))
        before = fresh.status
        fresh.status = CaseStatus.RELEASED
        fresh.released_at = timezone.now()
        fresh.updated_by = _user(actor)
        fresh.save(update_fields=["status", "released_at", "updated_by", "updated_at"])
        ended = _end_attached(actor, fresh, _("Case released: %(basis)s") % {"basis": basis})
        _change(actor, fresh, before, basis)
        audit.record(actor=actor, action="control.release_case", obj=fresh, reason=basis,
                     changes={"status": [before, CaseStatus.RELEASED], "ended": ended})  # fmt: skip
    case.status, case.released_at = fresh.status, fresh.released_at
    return case


def do_set_care_team(*, actor: Any, case: ControlCase, members: dict[str, Any]) -> list[CareTeamMember]:
    """Name the people of the case's care team, slot by slot (`members`: slot → user or None to leave
    it empty). Each must hold the slot's role where the case is."""
    _require_manager(actor, case)
    if not case.is_open:
        raise Conflict(_("This case is already closed."))
    known = teams.slots()
    for slot, user in members.items():
        if slot not in known:
            raise InvalidInput(_("Unknown team role: %(slot)s") % {"slot": slot}, field="team")
        if user is not None and not teams.candidates(case, slot).filter(pk=user.pk).exists():
            raise InvalidInput(
                _("%(name)s is not a %(role)s where this case is.")
                % {"name": user, "role": teams.slot_label(slot)},
                field=slot,
            )
    with transaction.atomic():
        before = {m.slot: m.user.username for m in case.team.select_related("user")}
        for slot, user in members.items():
            case.team.filter(slot=slot).delete()
            if user is not None:
                CareTeamMember.objects.create(
                    case=case, slot=slot, user=user, created_by=_user(actor), updated_by=_user(actor)
                )
        after = {m.slot: m.user.username for m in case.team.select_related("user")}
        audit.record(actor=actor, action="control.set_care_team", obj=case, changes=audit.diff(before, after))
    return list(case.team.select_related("user"))


def do_export_cases(*, actor: Any, queryset: Any, filters: dict[str, Any]) -> bytes:
    from jiedao.control.exports import cases_xlsx

    ledger = cases_xlsx(queryset)
    audit.record(actor=actor, action="control.export_cases", object_type="control.controlcase",
                 changes={"filters": filters, "rows": ledger.rows})  # fmt: skip
    return ledger.data


# ---- health check-ins ---------------------------------------------------------------------------


def _doctor_item(
    case: ControlCase, *, kind: str, title: str, slot: dt.datetime, due: dt.datetime, priority: int
) -> None:
    from jiedao.work.actions import do_create_work_item

    do_create_work_item(
        actor=None, kind=kind, title=title[:200], due_at=due, community=case.community, grid=None,
        role="doctor", priority=priority, subject=case,
        dedupe_key=f"{kind}:{case.pk}:{slot.isoformat()}",
    )  # fmt: skip


def do_record_checkin(
    *,
    actor: Any,
    case: ControlCase,
    temperature: Any,
    symptoms: Any = (),
    note: str = "",
    at: dt.datetime | None = None,
    by_self: bool = False,
) -> HealthCheck:
    """Record the check-in due now (or at `at`). Fever or any symptom raises an urgent work item for the
    community's doctor. The same check-in twice is refused (a replayed form changes nothing)."""
    from jiedao.control import checkins
    from jiedao.work.choices import Priority

    if not by_self and actor is not None and not can_in_area(actor, CHECKIN_ROLES, case):
        raise Forbidden(_("Only the care team's office, grid worker or doctor record check-ins here."))
    value = checkins.parse_temperature(temperature)
    ticked = checkins.clean_symptoms(symptoms)
    if case.status not in (CaseStatus.ACTIVE, CaseStatus.MONITORING):
        raise Conflict(_("Check-ins are taken while the measure runs."))
    at = at or timezone.now()
    slot = checkins.slot_for(case, timezone.localtime(at))
    if slot is None:
        raise Conflict(_("No check-in is due now under this case's schedule."))
    abnormal = checkins.is_abnormal(value, ticked)
    check = HealthCheck(
        case=case, slot_at=slot, temperature=value, symptoms=ticked, note=(note or "").strip()[:200],
        by_self=by_self, abnormal=abnormal, created_by=_user(actor), updated_by=_user(actor),
    )  # fmt: skip
    try:
        with transaction.atomic():
            missed = (
                HealthCheck.objects.select_for_update()
                .filter(case=case, slot_at=slot, temperature__isnull=True)
                .first()
            )
            if missed is not None:  # a late check-in fills the missed one in; it stays marked missed
                check.pk, check.missed, check.created_at = missed.pk, True, missed.created_at
            check.save()
            audit.record(actor=actor if not by_self else "self-report link", action="control.checkin", obj=case,
                         changes={"slot": slot, "temperature": str(value), "symptoms": ticked, "abnormal": abnormal})  # fmt: skip
            if abnormal:
                _doctor_item(
                    case, kind="control.abnormal_checkin", slot=slot, due=timezone.now() + dt.timedelta(minutes=30),
                    priority=Priority.URGENT,
                    title=_("Fever or symptoms: %(name)s, %(t)s °C") % {"name": case.person.name, "t": value},
                )  # fmt: skip
    except IntegrityError:
        raise Conflict(
            _("The check-in due at %(slot)s is recorded already.")
            % {"slot": f"{timezone.localtime(slot):%m-%d %H:%M}"}
        )
    return check


def do_issue_checkin_link(*, actor: Any, case: ControlCase) -> tuple[CheckinLink, str]:
    """A new personal check-in link for the case (earlier ones stop working); returns it and its token."""
    from jiedao.control import checkins

    _require_manager(actor, case)
    if not case.is_open:
        raise Conflict(_("This case is already closed."))
    token, index = checkins.new_token()
    tz = timezone.get_current_timezone()
    expires = dt.datetime.combine(case.end_date + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    with transaction.atomic():
        case.checkin_links.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        link = CheckinLink.objects.create(
            case=case, token=token, token_index=index, expires_at=expires,
            created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        audit.record(
            actor=actor, action="control.issue_checkin_link", obj=case, changes={"expires_at": expires}
        )
    return link, token


def live_link(token: str) -> CheckinLink:
    """The link a token opens, or NotFound — the same answer for a guessed, revoked or expired token,
    and for a closed case, so nothing can be learnt by trying."""
    from jiedao.control import checkins
    from jiedao.core.errors import NotFound

    link = None
    if token and len(token) < 100:  # the index is unique: get(), no ORDER BY
        try:
            link = CheckinLink.objects.select_related("case", "case__person").get(
                token_index=checkins.token_index(token)
            )
        except CheckinLink.DoesNotExist:
            link = None
    if link is None or not link.is_live() or not link.case.is_open:
        raise NotFound(_("This check-in link is not valid (any more). Ask your community for a new one."))
    return link


def do_flag_missed_checkins(now: dt.datetime | None = None) -> int:
    """Check-ins more than two hours overdue (today and yesterday) become work items for the doctor."""
    from jiedao.control import checkins
    from jiedao.work.choices import Priority

    now = now or timezone.now()
    yesterday = timezone.localtime(now).date() - dt.timedelta(days=1)
    since = dt.datetime.combine(yesterday, dt.time(0), tzinfo=timezone.get_current_timezone())
    made = 0
    for case in (
        ControlCase.objects.filter(status__in=(CaseStatus.ACTIVE, CaseStatus.MONITORING))
        .select_related("person", "community")
        .iterator(chunk_size=500)
    ):
        done = set(case.checkins.filter(slot_at__gte=since).values_list("slot_at", flat=True))
        for slot in checkins.slots(case):
            if since <= slot <= now - checkins.MISSED_AFTER and slot not in done:
                # A missed row for the doctor's list; a late check-in fills it in.
                HealthCheck.objects.bulk_create(
                    [HealthCheck(case=case, slot_at=slot, temperature=None, missed=True)],
                    ignore_conflicts=True,
                )
                _doctor_item(
                    case, kind="control.missed_checkin", slot=slot, due=now + dt.timedelta(hours=1),
                    priority=Priority.HIGH,
                    title=_("Missed check-in: %(name)s, %(slot)s")
                    % {"name": case.person.name, "slot": f"{timezone.localtime(slot):%m-%d %H:%M}"},
                )  # fmt: skip
                made += 1
    return made
