"""Writes for the care of a person under control: the tests of the plan's test days (a work item each
day, results by hand, a positive escalates at once), supply and counselling requests (assigned,
delivered or held, never silently dropped), and the daily proposals to release."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.control import teams
from jiedao.control.actions.cases import _user, release_blockers
from jiedao.control.choices import (
    OPEN_SUPPLY_STATUSES,
    CaseStatus,
    SupplyKind,
    SupplyStatus,
    TestResult,
)
from jiedao.control.models import CaseTest, ControlCase, SupplyRequest
from jiedao.control.queries import CHECKIN_ROLES, MANAGE_ROLES, SUPPLY_ROLES, can_in_area
from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.org.choices import Role
from jiedao.work.choices import Priority

UNDER_MEASURE = (CaseStatus.ACTIVE, CaseStatus.MONITORING)
# How soon each kind of request must be met; an urgent medical need is the doctor's within minutes.
SUPPLY_DUE = {
    SupplyKind.FOOD: dt.timedelta(hours=6),
    SupplyKind.MEDICINE: dt.timedelta(hours=2),
    SupplyKind.COUNSELLING: dt.timedelta(hours=24),
    SupplyKind.OTHER: dt.timedelta(hours=12),
}
URGENT_DUE = dt.timedelta(minutes=15)


def _create_new(items: list[Any]) -> int:
    """Create the work items whose dedupe key is new; returns how many were made."""
    from jiedao.work.actions import do_create_work_items
    from jiedao.work.models import WorkItem

    existing = set(
        WorkItem.objects.filter(dedupe_key__in=[i.dedupe_key for i in items]).values_list(
            "dedupe_key", flat=True
        )
    )
    fresh = [i for i in items if i.dedupe_key not in existing]
    do_create_work_items(actor=None, items=fresh)
    return len(fresh)


def _local_dt(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


# ---- tests ---------------------------------------------------------------------------------------


def test_days(case: ControlCase) -> list[dt.date]:
    return sorted({dt.date.fromisoformat(d) for p in case.phases for d in p.get("tests", [])})


def _test_item(case: ControlCase, day: dt.date) -> Any:
    """The work item of the test of `day`: home sampling by a sampler for a case at home; for a case at a
    quarantine site, the community enters the site's result."""
    from jiedao.work.models import WorkItem

    at_home = teams.needs_team(case) or case.status == CaseStatus.MONITORING
    name = case.person.name
    return WorkItem(
        kind="control.home_sampling" if at_home else "control.site_test",
        title=(_("Home sampling: %(name)s") if at_home else _("Test result due from the site: %(name)s"))
        % {"name": name},
        community_id=case.community_id, grid_id=case.grid_id if at_home else None,
        role=Role.SAMPLER if at_home else Role.COMMUNITY_STAFF, due_at=_local_dt(day, 12), priority=Priority.HIGH,
        subject_type="control.controlcase", subject_id=str(case.pk), subject_url=case.get_absolute_url(),
        subject_label=str(case)[:200], dedupe_key=f"control.test:{case.pk}:{day.isoformat()}",
    )  # fmt: skip


def do_create_test_items(today: dt.date | None = None, cases: Any = None) -> int:
    """The day's tests become work items (once each): every case under its measure whose plan has a
    test today and no result for it yet."""

    today = today or timezone.localdate()
    if cases is None:
        cases = ControlCase.objects.filter(
            status__in=UNDER_MEASURE, start_date__lte=today, end_date__gte=today
        ).select_related("person")
    done = set(CaseTest.objects.filter(test_date=today).values_list("case_id", flat=True))
    return _create_new([_test_item(c, today) for c in cases if today in test_days(c) and c.pk not in done])


def _finish_items(actor: Any, dedupe_keys: list[str], outcome: str) -> int:
    from jiedao.work.choices import OPEN_STATUSES, WorkStatus
    from jiedao.work.models import WorkItem

    now = timezone.now()
    return WorkItem.objects.filter(dedupe_key__in=dedupe_keys, status__in=OPEN_STATUSES).update(
        status=WorkStatus.DONE, done_at=now, outcome=outcome[:2000], updated_at=now, updated_by=_user(actor)
    )


def do_record_test(
    *,
    actor: Any,
    case: ControlCase,
    test_date: dt.date,
    result: str,
    sampled_at: dt.datetime | None = None,
    lab: str = "",
    today: dt.date | None = None,
) -> CaseTest:
    """The result of one test of the case (by hand now; from a testing round later). The day's work item
    is done; a positive result escalates at once to the command centre and the community's doctor. A
    result for a day already negative or positive is refused; an invalid one can be replaced."""
    if actor is not None and not can_in_area(actor, CHECKIN_ROLES, case):
        raise Forbidden(
            _("Only the community office, the grid worker or the doctor enter test results here.")
        )
    if result not in TestResult.values:
        raise InvalidInput(_("Choose negative, positive or invalid."), field="result")
    today = today or timezone.localdate()
    if not isinstance(test_date, dt.date) or not case.start_date <= test_date <= min(today, case.end_date):
        raise InvalidInput(
            _("A test day is between the case's first day (%(start)s) and today.")
            % {"start": case.start_date.isoformat()},
            field="test_date",
        )
    if sampled_at is not None and sampled_at > timezone.now():
        raise InvalidInput(_("The sampling time is in the future."), field="sampled_at")
    if case.status not in UNDER_MEASURE:
        raise Conflict(_("Test results are entered while the measure runs."))
    lab = (lab or "").strip()[:100]
    with transaction.atomic():
        earlier = CaseTest.objects.select_for_update().filter(case=case, test_date=test_date).first()
        if earlier is not None and earlier.result != TestResult.INVALID:
            raise Conflict(
                _("The test of %(date)s is recorded already: %(result)s.")
                % {"date": test_date.isoformat(), "result": earlier.get_result_display()}
            )
        test = earlier or CaseTest(case=case, test_date=test_date, created_by=_user(actor))
        test.result, test.sampled_at, test.lab, test.updated_by = result, sampled_at, lab, _user(actor)
        try:
            with transaction.atomic():
                test.save()
        except IntegrityError:
            raise Conflict(_("The test of %(date)s is recorded already.") % {"date": test_date.isoformat()})
        label = TestResult(result).label
        _finish_items(actor, [f"control.test:{case.pk}:{test_date.isoformat()}"], str(label))
        audit.record(actor=actor, action="control.record_test", obj=case,
                     changes={"test_date": test_date, "result": result, "lab": lab})  # fmt: skip
        if result == TestResult.POSITIVE:
            _escalate_positive(case, test)
    return test


def _escalate_positive(case: ControlCase, test: CaseTest) -> None:
    """A positive test reaches the command centre and the community's doctor at once, as urgent work."""
    from jiedao.work.actions import do_create_work_item

    title = _("Positive test: %(name)s (%(date)s)") % {
        "name": case.person.name,
        "date": test.test_date.isoformat(),
    }
    due = timezone.now() + URGENT_DUE
    for role, community in ((Role.COMMAND, None), (Role.DOCTOR, case.community)):
        do_create_work_item(
            actor=None, kind="control.positive", title=title[:200], due_at=due, community=community, grid=None,
            role=role, priority=Priority.URGENT, subject=case,
            dedupe_key=f"control.positive:{case.pk}:{test.test_date.isoformat()}:{role}",
        )  # fmt: skip


# ---- supplies and counselling --------------------------------------------------------------------


def _supply_owner(case: ControlCase, kind: str, urgent: bool) -> dict[str, Any]:
    """Who the request goes to: an urgent medical need or counselling to the doctor; goods to the team's
    volunteer (or the community's volunteers)."""
    if urgent or kind == SupplyKind.COUNSELLING:
        member = case.team.filter(slot=Role.DOCTOR).select_related("user").first()
        return {"assignee": member.user if member else None, "role": Role.DOCTOR}
    member = case.team.filter(slot=Role.VOLUNTEER).select_related("user").first()
    return {"assignee": member.user if member else None, "role": Role.VOLUNTEER}


def do_request_supply(
    *, actor: Any, case: ControlCase, kind: str, detail: str, urgent: bool = False, by_self: bool = False
) -> SupplyRequest:
    """A request from the person (through their link) or their team. It becomes a work item at once; an
    urgent medical need is due within minutes and escalates like any overdue item."""
    from jiedao.work.actions import do_create_work_item

    if not by_self and actor is not None and not can_in_area(actor, CHECKIN_ROLES, case):
        raise Forbidden(_("Only the care team's office, grid worker or doctor file requests here."))
    if kind not in SupplyKind.values:
        raise InvalidInput(_("Choose what kind of help is needed."), field="kind")
    detail = (detail or "").strip()
    if not detail:
        raise InvalidInput(_("Write what is needed."), field="detail")
    if len(detail) > 300:
        raise InvalidInput(_("Keep it under 300 characters."), field="detail")
    if not case.is_open:
        raise Conflict(_("This case is already closed."))
    urgent = bool(urgent) and kind in (SupplyKind.MEDICINE, SupplyKind.COUNSELLING, SupplyKind.OTHER)
    owner = _supply_owner(case, kind, urgent)
    with transaction.atomic():
        req = SupplyRequest.objects.create(
            case=case, community_id=case.community_id, grid_id=case.grid_id, kind=kind, detail=detail,
            urgent=urgent, by_self=by_self, assignee=owner["assignee"],
            status=SupplyStatus.ASSIGNED if owner["assignee"] else SupplyStatus.OPEN,
            created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        title = (_("Urgent: %(kind)s for %(name)s") if urgent else _("%(kind)s for %(name)s")) % {
            "kind": SupplyKind(kind).label,
            "name": case.person.name,
        }
        req.work_item = do_create_work_item(
            actor=None, kind="control.supply", title=title[:200], detail=detail,
            due_at=timezone.now() + (URGENT_DUE if urgent else SUPPLY_DUE[SupplyKind(kind)]),
            community=case.community, grid=None, assignee=owner["assignee"], role=owner["role"],
            priority=Priority.URGENT if urgent else Priority.NORMAL, subject=req,
        )  # fmt: skip
        req.save(update_fields=["work_item"])
        audit.record(actor=actor if not by_self else "self-report link", action="control.request_supply", obj=req,
                     changes={"case": case.pk, "kind": kind, "urgent": urgent})  # fmt: skip
    return req


def _lock_open(req: SupplyRequest) -> SupplyRequest:
    fresh = SupplyRequest.objects.select_for_update().get(pk=req.pk)
    if fresh.status not in OPEN_SUPPLY_STATUSES:
        raise Conflict(
            _("This request is finished already (%(status)s).") % {"status": fresh.get_status_display()}
        )
    return fresh


def do_assign_supply(*, actor: Any, req: SupplyRequest, assignee: Any) -> SupplyRequest:
    """Give the request to a person who serves the area (a volunteer, grid worker, doctor or staff)."""
    if actor is not None and not can_in_area(actor, MANAGE_ROLES, req):
        raise Forbidden(_("Only the community office or the command centre assigns requests."))
    if assignee is None or not can_in_area(assignee, SUPPLY_ROLES, req):
        raise InvalidInput(_("Choose someone who serves this community."), field="assignee")
    with transaction.atomic():
        fresh = _lock_open(req)
        before = fresh.assignee.username if fresh.assignee else ""
        fresh.assignee, fresh.status, fresh.updated_by = assignee, SupplyStatus.ASSIGNED, _user(actor)
        fresh.save(update_fields=["assignee", "status", "updated_by", "updated_at"])
        if fresh.work_item_id:
            from jiedao.work.models import WorkItem

            WorkItem.objects.filter(pk=fresh.work_item_id).update(
                assignee=assignee, updated_at=timezone.now()
            )
        audit.record(actor=actor, action="control.assign_supply", obj=fresh,
                     changes={"assignee": [before, assignee.username]})  # fmt: skip
    return fresh


def may_serve(actor: Any, req: SupplyRequest) -> bool:
    """The assignee, the office, or (while nobody is assigned) anyone serving the area may deliver or
    hold a request."""
    if actor is None or (req.assignee_id and actor.pk == req.assignee_id):
        return True
    if can_in_area(actor, MANAGE_ROLES, req):
        return True
    return req.assignee_id is None and can_in_area(actor, SUPPLY_ROLES, req)


def do_deliver_supply(*, actor: Any, req: SupplyRequest, outcome: str) -> SupplyRequest:
    """Delivered (or the counselling given), with what was done."""
    if not may_serve(actor, req):
        raise Forbidden(_("Only the person it is assigned to or the community office can close it."))
    outcome = (outcome or "").strip()
    if not outcome:
        raise InvalidInput(_("Write what was delivered or done."), field="outcome")
    with transaction.atomic():
        fresh = _lock_open(req)
        fresh.status, fresh.outcome, fresh.delivered_at = (
            SupplyStatus.DELIVERED,
            outcome[:300],
            timezone.now(),
        )
        fresh.updated_by = _user(actor)
        fresh.save(update_fields=["status", "outcome", "delivered_at", "updated_by", "updated_at"])
        if fresh.work_item_id:
            from jiedao.work.choices import OPEN_STATUSES, WorkStatus
            from jiedao.work.models import WorkItem

            WorkItem.objects.filter(pk=fresh.work_item_id, status__in=OPEN_STATUSES).update(
                status=WorkStatus.DONE,
                done_at=fresh.delivered_at,
                outcome=outcome[:2000],
                updated_at=timezone.now(),
            )
        audit.record(actor=actor, action="control.deliver_supply", obj=fresh, changes={"outcome": outcome})
    return fresh


def do_hold_supply(*, actor: Any, req: SupplyRequest, reason: str) -> SupplyRequest:
    """It cannot be met now (out of stock, the person asked to wait): the reason is written and the
    request stays open with its work item, which escalates if nobody comes back to it."""
    if not may_serve(actor, req):
        raise Forbidden(_("Only the person it is assigned to or the community office can hold it."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why it is on hold."), field="reason")
    with transaction.atomic():
        fresh = _lock_open(req)
        fresh.status, fresh.outcome, fresh.updated_by = SupplyStatus.HELD, reason[:300], _user(actor)
        fresh.save(update_fields=["status", "outcome", "updated_by", "updated_at"])
        audit.record(actor=actor, action="control.hold_supply", obj=fresh, reason=reason)
    return fresh


# ---- release proposals ---------------------------------------------------------------------------


def do_propose_releases(today: dt.date | None = None) -> int:
    """Every case whose last day has come and that meets the release criteria becomes a work item for
    the community office ("release due"), once."""
    from jiedao.work.models import WorkItem

    today = today or timezone.localdate()
    items = []
    for case in (
        ControlCase.objects.filter(status__in=UNDER_MEASURE, end_date__lte=today)
        .select_related("person")
        .iterator(chunk_size=500)
    ):
        if release_blockers(case, today):
            continue
        title = _("Release due: %(name)s") % {"name": case.person.name}
        item = WorkItem(
            kind="control.release", title=title[:200], community_id=case.community_id, role=Role.COMMUNITY_STAFF,
            due_at=_local_dt(today, 18), priority=Priority.HIGH if case.end_date < today else Priority.NORMAL,
            subject_type="control.controlcase", subject_id=str(case.pk), subject_url=case.get_absolute_url(),
            subject_label=str(case)[:200], dedupe_key=f"control.release:{case.pk}",
        )  # fmt: skip
        items.append(item)
    return _create_new(items)
