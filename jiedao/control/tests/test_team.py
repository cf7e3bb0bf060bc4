"""The five-for-one care team: home quarantine starts only with a full team of people who hold each
role where the case is; each member finds the case on Today; volunteers see no health data."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from jiedao.control import actions, teams
from jiedao.control.choices import CaseStatus
from jiedao.control.models import ControlCase
from jiedao.control.tests.test_cases import classified
from jiedao.core.errors import Conflict, Forbidden, InvalidInput

pytestmark = pytest.mark.django_db


def full_team(cast: Any, case: ControlCase) -> None:
    actions.do_set_care_team(
        actor=cast["command"], case=case, members={slot: cast[f"{slot}_a"] for slot in teams.slots()}
    )


def home_case(cast: Any) -> ControlCase:
    return actions.do_open_case(actor=cast["command"], key_person=classified(cast, "secondary_contact"))


def test_home_quarantine_needs_a_full_team_to_start(cast: Any) -> None:
    case = home_case(cast)
    assert case.measure_type == "HOME_QUARANTINE" and teams.missing(case) == list(teams.slots())
    with pytest.raises(Conflict) as refused:
        actions.do_start_case(actor=cast["command"], case=case, basis="居家隔离")
    assert refused.value.field == "team"
    actions.do_set_care_team(actor=cast["community_staff_a"], case=case, members={"doctor": cast["doctor_a"]})
    with pytest.raises(Conflict):
        actions.do_start_case(actor=cast["command"], case=case, basis="居家隔离")
    full_team(cast, case)
    actions.do_start_case(actor=cast["command"], case=case, basis="五包一到位")
    assert ControlCase.objects.get().status == CaseStatus.ACTIVE


def test_centralised_quarantine_needs_no_team(cast: Any) -> None:
    case = actions.do_open_case(actor=cast["command"], key_person=classified(cast))
    actions.do_start_case(actor=cast["command"], case=case, basis="已到隔离点")
    assert case.status == CaseStatus.ACTIVE


def test_team_members_hold_the_role_where_the_case_is(cast: Any) -> None:
    case = home_case(cast)
    with pytest.raises(InvalidInput):  # a doctor of community B
        actions.do_set_care_team(actor=cast["command"], case=case, members={"doctor": cast["doctor_b"]})
    with pytest.raises(InvalidInput):  # a grid worker, in the police slot
        actions.do_set_care_team(actor=cast["command"], case=case, members={"police": cast["grid_worker_a"]})
    with pytest.raises(InvalidInput):  # the volunteer of grid A1 is fine, the grid worker of A2 is not
        actions.do_set_care_team(
            actor=cast["command"], case=case, members={"grid_worker": cast["grid_worker_a2"]}
        )
    with pytest.raises(Forbidden):
        actions.do_set_care_team(actor=cast["grid_worker_a"], case=case, members={"doctor": cast["doctor_a"]})
    assert not case.team.exists()


def test_members_see_the_case_on_today_and_volunteers_no_health_data(login: Any, cast: Any) -> None:
    case = home_case(cast)
    client = login("community_staff_a")
    r = client.post(reverse("control:team", args=[case.pk]), {s: cast[f"{s}_a"].pk for s in teams.slots()})
    assert r.status_code == 302 and not teams.missing(case)
    page = login("volunteer_a").get(reverse("work:today")).content.decode()
    assert 'data-testid="my-case"' in page and case.person.name in page
    assert reverse("control:case", args=[case.pk]) not in page  # no link to the health data
    assert login("volunteer_a").get(reverse("control:case", args=[case.pk])).status_code == 403
    page = login("doctor_a").get(reverse("work:today")).content.decode()
    assert reverse("control:case", args=[case.pk]) in page
    # Not on the Today page of someone outside the team.
    assert 'data-testid="my-case"' not in login("grid_worker_a2").get(reverse("work:today")).content.decode()


def test_a_quarantine_followed_by_home_monitoring_warns_about_a_missing_team(login: Any, cast: Any) -> None:
    case = actions.do_open_case(actor=cast["command"], key_person=classified(cast))
    assert case.measure_type == "CENTRAL_QUARANTINE" and teams.home_phase_ahead(case)
    page = login("community_staff_a").get(reverse("control:case", args=[case.pk])).content.decode()
    assert 'data-testid="team-missing"' in page
    full_team(cast, case)
    page = login("community_staff_a").get(reverse("control:case", args=[case.pk])).content.decode()
    assert 'data-testid="team-missing"' not in page
