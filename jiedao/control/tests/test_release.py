"""The schedule moves on (quarantine → home monitoring) and release on the last day, with its notice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from jiedao.control import actions
from jiedao.control.choices import CaseStatus
from jiedao.control.models import ControlCase
from jiedao.control.tests.helpers import pass_tests
from jiedao.control.tests.test_cases import classified
from jiedao.control.tests.test_team import full_team
from jiedao.core.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


def active_case(cast: Any) -> ControlCase:
    case = actions.do_open_case(actor=cast["command"], key_person=classified(cast))
    return actions.do_start_case(actor=cast["command"], case=case, basis="已到达隔离点")


def test_the_follow_on_measure_starts_after_the_quarantine(cast: Any) -> None:
    case = active_case(cast)
    last_quarantine_day = dt.date.fromisoformat(case.phases[0]["end"])
    assert actions.do_advance_cases(today=last_quarantine_day) == []
    moved = actions.do_advance_cases(today=last_quarantine_day + dt.timedelta(days=1))
    assert [c.pk for c in moved] == [case.pk]
    case.refresh_from_db()
    assert case.status == CaseStatus.MONITORING
    assert last_quarantine_day.isoformat() in case.changes.last().basis
    assert actions.do_advance_cases(today=last_quarantine_day + dt.timedelta(days=2)) == []  # once


def test_a_case_without_a_follow_on_stays_under_its_measure(cast: Any) -> None:
    case = actions.do_open_case(actor=cast["command"], key_person=classified(cast, "secondary_contact"))
    full_team(cast, case)
    actions.do_start_case(actor=cast["command"], case=case, basis="居家")
    assert actions.do_advance_cases(today=case.end_date + dt.timedelta(days=3)) == []


def test_release_only_from_the_last_day_and_with_a_basis(cast: Any) -> None:
    case = active_case(cast)
    with pytest.raises(Conflict):
        actions.do_release_case(
            actor=cast["command"], case=case, basis="提前", today=case.end_date - dt.timedelta(days=1)
        )
    with pytest.raises(InvalidInput):
        actions.do_release_case(actor=cast["command"], case=case, basis="", today=case.end_date)
    with pytest.raises(Conflict, match=actions.test_days(case)[-1].isoformat()):  # the last test day
        actions.do_release_case(actor=cast["command"], case=case, basis="未检测", today=case.end_date)
    pass_tests(case, today=case.end_date)
    actions.do_release_case(
        actor=cast["community_staff_a"], case=case, basis="核酸均阴性，无症状", today=case.end_date
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.RELEASED and case.released_at is not None
    with pytest.raises(Conflict):
        actions.do_release_case(actor=cast["command"], case=case, basis="again", today=case.end_date)


def test_a_pending_case_cannot_be_released(cast: Any) -> None:
    case = actions.do_open_case(actor=cast["command"], key_person=classified(cast))
    assert actions.release_blockers(case, case.end_date)
    with pytest.raises(Conflict):
        actions.do_release_case(actor=cast["command"], case=case, basis="x", today=case.end_date)


def test_the_release_notice(login: Any, cast: Any) -> None:
    case = active_case(cast)
    client = login("community_staff_a")
    assert client.get(reverse("control:notice", args=[case.pk])).status_code == 404  # not released yet
    pass_tests(case, today=case.end_date)
    actions.do_release_case(actor=cast["command"], case=case, basis="核酸均阴性", today=case.end_date)
    page = client.get(reverse("control:notice", args=[case.pk])).content.decode()
    assert case.person.name in page and "核酸均阴性" in page and case.person.id_masked in page
    assert case.person.id_number not in page


def test_the_hourly_job_is_registered() -> None:
    from huey.contrib.djhuey import HUEY

    from jiedao.control.jobs import advance_cases

    assert any(isinstance(t, advance_cases.task_class) for t in HUEY._registry.periodic_tasks)


def test_a_released_person_does_not_wait_for_a_case_again(cast: Any) -> None:
    from jiedao.control.queries import waiting_for_a_case
    from jiedao.control.tests.helpers import end_today

    case = end_today(active_case(cast))
    pass_tests(case)
    kp = case.key_person
    assert not waiting_for_a_case(cast["command"]).filter(pk=kp.pk).exists()  # open case
    actions.do_release_case(actor=cast["command"], case=case, basis="期满阴性")
    kp.measure_end = timezone.localdate() + dt.timedelta(days=3)  # the classification's measure not over yet
    kp.save(update_fields=["measure_end"])
    assert not waiting_for_a_case(cast["command"]).filter(pk=kp.pk).exists()
