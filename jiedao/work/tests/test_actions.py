"""The rules of work/actions.py: creation and dedupe, transitions, who may act, escalation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.core.models import AuditEntry
from jiedao.org.actions import do_revoke_role
from jiedao.org.models import RoleAssignment
from jiedao.places.tests.access import make_place
from jiedao.work import actions
from jiedao.work.choices import Priority, WorkStatus
from jiedao.work.jobs import escalate_overdue_work
from jiedao.work.models import WorkItem
from jiedao.work.tests.access import make_item

pytestmark = pytest.mark.django_db


def _ago(minutes: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


# ---- create / dedupe ----------------------------------------------------------------------------------


def test_create_records_the_subject_and_an_audit_entry(cast) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    item = make_item(cast, subject=place, priority=Priority.HIGH, detail="带上登记表")
    assert (item.subject_type, item.subject_id) == ("places.place", str(place.pk))
    assert item.subject_url == f"/places/{place.pk}/" and item.subject_label == place.name
    assert item.status == WorkStatus.OPEN and item.community_id == cast.community_a.pk
    entry = AuditEntry.objects.get(action="work.create")
    assert entry.object_id == str(item.pk) and entry.changes["subject"] == f"places.place#{place.pk}"


def test_a_subject_without_a_page_still_makes_an_item(cast) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast, subject=cast.grid_a1)
    assert item.subject_type == "org.grid" and item.subject_url == ""


def test_same_dedupe_key_returns_the_existing_item(cast) -> None:  # type: ignore[no-untyped-def]
    first = make_item(cast, dedupe_key="verify:household:7")
    again = make_item(cast, dedupe_key="verify:household:7", title="另一个标题")
    assert again.pk == first.pk and again.title == first.title
    assert WorkItem.objects.count() == 1
    assert AuditEntry.objects.filter(action="work.create").count() == 1
    assert make_item(cast, dedupe_key="verify:household:8").pk != first.pk
    # Items without a key never collide.
    make_item(cast)
    make_item(cast)
    assert WorkItem.objects.count() == 4


def test_grid_alone_brings_its_community(cast) -> None:  # type: ignore[no-untyped-def]
    assert make_item(cast, community=None, grid=cast.grid_b1).community_id == cast.community_b.pk


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("title", {"title": "  "}),
        ("kind", {"kind": ""}),
        ("role", {"role": "mayor"}),
        ("priority", {"priority": 9}),
        ("due_at", {"due_at": "tomorrow"}),
        ("grid", {"community": "B", "grid": "A1"}),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(cast, field: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    units = {"B": cast.community_b, "A1": cast.grid_a1}
    kwargs = {
        k: units.get(v, v) if isinstance(v, str) and k in ("community", "grid") else v
        for k, v in kwargs.items()
    }
    with pytest.raises(InvalidInput) as exc:
        make_item(cast, **kwargs)
    assert exc.value.field == field
    assert not WorkItem.objects.exists()


# ---- transitions and who may act ----------------------------------------------------------------------


def test_start_then_complete_with_an_outcome(cast) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    worker = cast["grid_worker_a"]
    actions.do_start_work_item(actor=worker, item=item)
    assert item.status == WorkStatus.IN_PROGRESS and item.started_at
    with pytest.raises(Conflict):
        actions.do_start_work_item(actor=worker, item=item)
    with pytest.raises(InvalidInput) as exc:
        actions.do_complete_work_item(actor=worker, item=item, outcome="   ")
    assert exc.value.field == "outcome"
    actions.do_complete_work_item(actor=worker, item=item, outcome=" 已上门，户内 3 人 ")
    item.refresh_from_db()
    assert item.status == WorkStatus.DONE and item.outcome == "已上门，户内 3 人" and item.done_at
    with pytest.raises(Conflict):
        actions.do_complete_work_item(actor=worker, item=item, outcome="again")
    logged = list(
        AuditEntry.objects.filter(object_id=str(item.pk)).order_by("id").values_list("action", flat=True)
    )
    assert logged == ["work.create", "work.start", "work.complete"]


def test_completing_an_item_outside_ones_area_is_not_found(cast) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    for key in ("grid_worker_b", "grid_worker_a2", "community_staff_b", "doctor_a"):
        with pytest.raises(NotFound):
            actions.do_complete_work_item(actor=cast[key], item=item, outcome="x")
    item.refresh_from_db()
    assert item.status == WorkStatus.OPEN


def test_auditors_see_but_do_not_act(cast) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    with pytest.raises(Forbidden):
        actions.do_complete_work_item(actor=cast["auditor"], item=item, outcome="x")


def test_an_assigned_item_is_the_assignees_wherever_they_sit(cast) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast, role="", assignee=cast["doctor_b"])
    actions.do_complete_work_item(actor=cast["doctor_b"], item=item, outcome="done")
    assert item.status == WorkStatus.DONE


def test_cancel_needs_a_supervisor_and_a_reason(cast) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    with pytest.raises(Forbidden):
        actions.do_cancel_work_item(actor=cast["grid_worker_a"], item=item, reason="no need")
    with pytest.raises(InvalidInput):
        actions.do_cancel_work_item(actor=cast["community_staff_a"], item=item, reason="")
    actions.do_cancel_work_item(actor=cast["community_staff_a"], item=item, reason="重复派单")
    item.refresh_from_db()
    assert item.status == WorkStatus.CANCELLED and item.outcome == "重复派单"


def test_reassign_only_to_someone_with_a_role_over_the_area(cast) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    staff = cast["community_staff_a"]
    with pytest.raises(InvalidInput) as exc:
        actions.do_reassign_work_item(
            actor=staff, item=item, assignee=cast["grid_worker_a2"], role="grid_worker"
        )
    assert exc.value.field == "assignee"
    with pytest.raises(InvalidInput):
        actions.do_reassign_work_item(actor=staff, item=item, assignee=cast["doctor_b"])
    with pytest.raises(NotFound):
        actions.do_reassign_work_item(
            actor=cast["community_staff_b"], item=item, assignee=cast["grid_worker_a"]
        )
    actions.do_reassign_work_item(actor=staff, item=item, assignee=cast["grid_worker_a"], role="grid_worker")
    item.refresh_from_db()
    assert item.assignee_id == cast["grid_worker_a"].pk
    entry = AuditEntry.objects.get(action="work.reassign")
    assert entry.changes["assignee"] == ["", "grid_worker_a"]


# ---- escalation -----------------------------------------------------------------------------------------


def test_an_overdue_grid_item_escalates_once_to_its_community_staff(cast) -> None:  # type: ignore[no-untyped-def]
    grace = django_settings.WORK_ESCALATE_AFTER_MINUTES
    late = make_item(cast, due_at=_ago(grace + 5))
    within_grace = make_item(cast, due_at=_ago(max(grace - 5, 0)) + dt.timedelta(minutes=1))
    escalated = actions.do_escalate_overdue()
    assert [i.pk for i in escalated] == [late.pk]
    late.refresh_from_db()
    assert late.escalated_to_id == cast["community_staff_a"].pk and late.escalated_at is not None
    first_at = late.escalated_at
    # Later runs leave it alone, even when its supervisor changes.
    assert actions.do_escalate_overdue(now=timezone.now() + dt.timedelta(hours=3)) != []  # the other one
    late.refresh_from_db()
    assert late.escalated_at == first_at
    assert AuditEntry.objects.filter(action="work.escalate", object_id=str(late.pk)).count() == 1
    within_grace.refresh_from_db()
    assert within_grace.escalated_to_id == cast["community_staff_a"].pk


def test_community_and_subdistrict_items_escalate_to_command(cast) -> None:  # type: ignore[no-untyped-def]
    community_item = make_item(cast, grid=None, role="community_staff", due_at=_ago(600))
    whole = make_item(cast, community=None, grid=None, role="command", due_at=_ago(600))
    actions.do_escalate_overdue()
    for item in (community_item, whole):
        item.refresh_from_db()
        assert item.escalated_to_id == cast["command"].pk


def test_a_community_without_active_staff_escalates_to_command(cast) -> None:  # type: ignore[no-untyped-def]
    assignment = RoleAssignment.objects.get(user=cast["community_staff_b"], role="community_staff")
    do_revoke_role(actor=None, assignment=assignment)
    item = make_item(cast, community=cast.community_b, grid=cast.grid_b1, due_at=_ago(600))
    actions.do_escalate_overdue()
    item.refresh_from_db()
    assert item.escalated_to_id == cast["command"].pk


def test_done_and_cancelled_items_never_escalate(cast) -> None:  # type: ignore[no-untyped-def]
    done = make_item(cast, due_at=_ago(600))
    actions.do_complete_work_item(actor=None, item=done, outcome="ok")
    cancelled = make_item(cast, due_at=_ago(600))
    actions.do_cancel_work_item(actor=None, item=cancelled, reason="dup")
    assert actions.do_escalate_overdue(now=timezone.now() + dt.timedelta(days=2)) == []
    assert not WorkItem.objects.filter(escalated_at__isnull=False).exists()


def test_nobody_is_escalated_their_own_item(cast) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast, role="", assignee=cast["community_staff_a"], due_at=_ago(600))
    actions.do_escalate_overdue()
    item.refresh_from_db()
    assert item.escalated_to_id == cast["command"].pk


def test_the_escalation_window_comes_from_settings(cast, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WORK_ESCALATE_AFTER_MINUTES = 240
    item = make_item(cast, due_at=_ago(120))
    assert actions.do_escalate_overdue() == []
    settings.WORK_ESCALATE_AFTER_MINUTES = 60
    assert [i.pk for i in actions.do_escalate_overdue()] == [item.pk]


def test_the_periodic_huey_task_escalates(cast, settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.HUEY["immediate"] is True  # tests run Huey tasks in-process
    item = make_item(cast, due_at=_ago(django_settings.WORK_ESCALATE_AFTER_MINUTES + 30))
    escalate_overdue_work()  # Huey keeps no result for periodic tasks: check the effect
    item.refresh_from_db()
    assert item.escalated_to_id == cast["community_staff_a"].pk
    escalate_overdue_work()
    assert AuditEntry.objects.filter(action="work.escalate").count() == 1
    assert escalate_overdue_work.call_local() == 0  # the same function, run directly


def test_the_escalation_job_is_registered_to_run_every_five_minutes() -> None:
    from huey.contrib.djhuey import HUEY

    periodic = [t for t in HUEY._registry.periodic_tasks if isinstance(t, escalate_overdue_work.task_class)]
    assert len(periodic) == 1
    task = periodic[0]
    base = dt.datetime(2022, 11, 29, 9, 0)
    runs = [m for m in range(60) if task.validate_datetime(base.replace(minute=m))]
    assert runs == list(range(0, 60, 5))
