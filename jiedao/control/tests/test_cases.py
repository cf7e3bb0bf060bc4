"""Control cases: opened from a verified key person with the protocol's schedule, started, changed
(with a preview) and cancelled, each change with its basis; pages and scoping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from jiedao.control import actions
from jiedao.control.choices import CaseStatus
from jiedao.control.models import CaseChange, ControlCase
from jiedao.control.plans import calendar
from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.core.models import AuditEntry
from jiedao.core.testing import assert_no_per_row_queries
from jiedao.registry.tests.factories import make_household
from jiedao.screening.actions import do_verify_key_person
from jiedao.screening.models import KeyPerson
from jiedao.screening.tests.helpers import HEADER, receive, xlsx

pytestmark = pytest.mark.django_db


def classified(
    cast: Any, category: str = "close_contact", exposed_days_ago: int = 1, community: Any = None
) -> KeyPerson:
    """A resident of grid A1 (or community B) pushed as `category`, verified and classified today."""
    grid = cast.grid_b1 if community is cast.community_b else cast.grid_a1
    hh = make_household(community or cast.community_a, grid)
    person = hh.residents.select_related("person").first().person
    receive(cast["command"], xlsx([HEADER, [1, person.name, person.id_number, "", "", "", "", category]]))
    kp = KeyPerson.objects.get(person=person)
    do_verify_key_person(
        actor=None, kp=kp, outcome="reached_in_area", category=kp.category,
        last_exposure=timezone.localdate() - dt.timedelta(days=exposed_days_ago),
    )  # fmt: skip
    kp.refresh_from_db()
    return kp


def test_a_close_contacts_case_follows_the_protocol(cast: Any) -> None:
    kp = classified(cast)
    case = actions.do_open_case(actor=cast["community_staff_a"], key_person=kp)
    today = timezone.localdate()
    assert case.status == CaseStatus.PENDING and case.start_date == today
    # 9th edition: 7 days centralised quarantine, then 3 days home health monitoring.
    assert [p["type"] for p in case.plan["phases"]] == ["CENTRAL_QUARANTINE", "HOME_MONITORING"]
    assert case.end_date == today + dt.timedelta(days=9)
    days = calendar(case.plan)
    assert len(days) == 10 and [d.number for d in days if d.tests] == [1, 2, 3, 5, 7, 10]
    assert case.community_id == cast.community_a.pk and case.grid_id == cast.grid_a1.pk
    change = CaseChange.objects.get(case=case)
    assert change.to_status == CaseStatus.PENDING and f"#{kp.pk}" in change.basis
    assert AuditEntry.objects.filter(action="control.open_case", object_id=str(case.pk)).exists()


def test_one_open_case_per_person_and_only_from_a_classified_key_person(cast: Any) -> None:
    kp = classified(cast)
    actions.do_open_case(actor=cast["command"], key_person=kp)
    with pytest.raises(Conflict):
        actions.do_open_case(actor=cast["command"], key_person=kp)
    assert ControlCase.objects.count() == 1
    receive(cast["command"], xlsx([HEADER, [1, "未核查", "", "13700000001", "", "", "", ""]]), title="另一份")
    open_kp = KeyPerson.objects.get(person__name="未核查")
    with pytest.raises((Conflict, Forbidden)):
        actions.do_open_case(actor=cast["command"], key_person=open_kp)


def test_a_measure_already_over_opens_nothing(cast: Any) -> None:
    kp = classified(cast, "companion", exposed_days_ago=1)
    kp.measure_start = timezone.localdate() - dt.timedelta(days=20)
    kp.save()
    with pytest.raises(Conflict):
        actions.do_open_case(actor=cast["command"], key_person=kp)


def test_status_changes_need_a_basis_and_the_right_office(cast: Any) -> None:
    case = actions.do_open_case(actor=cast["command"], key_person=classified(cast))
    with pytest.raises(InvalidInput):
        actions.do_start_case(actor=cast["community_staff_a"], case=case, basis="  ")
    with pytest.raises(Forbidden):
        actions.do_start_case(actor=cast["community_staff_b"], case=case, basis="到达隔离酒店")
    with pytest.raises(Forbidden):
        actions.do_start_case(actor=cast["grid_worker_a"], case=case, basis="到达隔离酒店")
    actions.do_start_case(actor=cast["community_staff_a"], case=case, basis="到达隔离酒店 512 房")
    assert ControlCase.objects.get().status == CaseStatus.ACTIVE
    with pytest.raises(Conflict):
        actions.do_start_case(actor=cast["community_staff_a"], case=case, basis="again")
    assert list(case.changes.values_list("to_status", flat=True)) == ["pending", "active"]


def test_changing_the_measure_shows_the_schedule_first(login: Any, cast: Any) -> None:
    case = actions.do_open_case(actor=cast["command"], key_person=classified(cast))
    client = login("community_staff_a")
    url = reverse("control:measure", args=[case.pk])
    r = client.post(
        url, {"category": "secondary_contact", "basis": "复核为次密接", "start": case.start_date.isoformat()}
    )
    page = r.content.decode()
    assert r.status_code == 200 and 'data-testid="new-schedule"' in page
    case.refresh_from_db()
    assert case.category == "close_contact"  # not applied yet
    r = client.post(
        url,
        {
            "category": "secondary_contact",
            "basis": "复核为次密接",
            "start": case.start_date.isoformat(),
            "confirm": "1",
        },
    )
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.category == "secondary_contact" and case.measure_type == "HOME_QUARANTINE"
    assert case.end_date == case.start_date + dt.timedelta(days=6)
    with pytest.raises(InvalidInput):
        actions.preview_measure(case, "red_code")  # no measure of its own


def test_cancel_closes_and_frees_the_person_for_a_new_case(cast: Any) -> None:
    kp = classified(cast)
    case = actions.do_open_case(actor=cast["command"], key_person=kp)
    actions.do_cancel_case(actor=cast["command"], case=case, basis="误开：同名不同人")
    assert ControlCase.objects.get().status == CaseStatus.CANCELLED
    assert actions.do_open_case(actor=cast["command"], key_person=kp).status == CaseStatus.PENDING


def test_pages_open_a_case_and_scope_it(login: Any, cast: Any, english: Any) -> None:
    kp = classified(cast)
    client = login("community_staff_a")
    page = client.get(reverse("control:to_open")).content.decode()
    assert kp.person.name in page
    r = client.post(reverse("control:open", args=[kp.pk]))
    case = ControlCase.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("control:case", args=[case.pk])
    page = client.get(r["Location"]).content.decode()
    assert 'data-testid="calendar"' in page and page.count('data-testid="test-day"') == 6
    assert 'data-testid="day-no"' in page
    assert kp.person.name not in client.get(reverse("control:to_open")).content.decode()
    # The person page shows the case; community B and volunteers see nothing of it.
    assert (
        'data-testid="control-section"'
        in client.get(reverse("registry:person", args=[kp.person_id])).content.decode()
    )
    assert login("community_staff_b").get(reverse("control:case", args=[case.pk])).status_code == 404
    assert login("volunteer_a").get(reverse("control:case", args=[case.pk])).status_code == 403


def test_the_ledger_filters_and_runs_no_query_per_row(login: Any, cast: Any) -> None:
    actions.do_open_case(actor=cast["command"], key_person=classified(cast))
    client = login("command")
    assert (
        client.get(reverse("control:cases"), {"status": "open"})
        .content.decode()
        .count('data-testid="case-row"')
        == 1
    )
    assert (
        'data-testid="empty"' in client.get(reverse("control:cases"), {"status": "released"}).content.decode()
    )

    def add(n: int) -> None:
        for _ in range(3):
            actions.do_open_case(actor=cast["command"], key_person=classified(cast))

    assert_no_per_row_queries(lambda: client.get(reverse("control:cases")), add)


def test_the_ledger_exports_and_counts_each_day(login: Any, cast: Any) -> None:
    from jiedao.control.exports import daily_counts
    from jiedao.core.sheets import read_table

    case = actions.do_open_case(actor=cast["command"], key_person=classified(cast))
    client = login("command")
    r = client.get(reverse("control:cases_export"))
    rows = read_table("cases.xlsx", r.content)
    assert r.status_code == 200 and len(rows) == 2 and rows[1][0] == case.person.name
    assert rows[1][1] == case.person.id_masked and case.person.id_number not in str(rows)
    assert AuditEntry.objects.filter(action="control.export_cases").exists()
    daily = daily_counts(ControlCase.objects.all())
    assert daily["under"][-1] == 1 and daily["started"][-1] == 1 and sum(daily["under"][:-1]) == 0
    assert 'data-testid="daily-chart"' in client.get(reverse("control:cases")).content.decode()
