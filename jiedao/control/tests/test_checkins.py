"""Health check-ins: by the team or through the person's link (no account, expiring, unguessable),
once per scheduled check-in; fever or symptoms and missed check-ins reach the doctor."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from jiedao.control import actions, checkins
from jiedao.control.models import ControlCase, HealthCheck
from jiedao.control.tests.helpers import pass_tests
from jiedao.control.tests.test_cases import classified
from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db


def active(cast: Any) -> ControlCase:
    case = actions.do_open_case(actor=cast["command"], key_person=classified(cast))
    return actions.do_start_case(actor=cast["command"], case=case, basis="已到隔离点")


def at(case: ControlCase, day: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(case.start_date + dt.timedelta(days=day - 1), dt.time(hh, mm),
                               tzinfo=timezone.get_current_timezone())  # fmt: skip


def test_a_check_in_answers_the_slot_it_falls_in_once(cast: Any) -> None:
    case = active(cast)
    first = actions.do_record_checkin(
        actor=cast["doctor_a"], case=case, temperature="36.6", at=at(case, 2, 9, 30)
    )
    assert timezone.localtime(first.slot_at).time() == dt.time(8, 0) and not first.abnormal
    with pytest.raises(Conflict):  # the same check-in again (a replayed form)
        actions.do_record_checkin(actor=cast["doctor_a"], case=case, temperature="36.7", at=at(case, 2, 10))
    later = actions.do_record_checkin(
        actor=cast["grid_worker_a"], case=case, temperature="36.5", at=at(case, 2, 17)
    )
    assert timezone.localtime(later.slot_at).time() == dt.time(16, 0)
    assert HealthCheck.objects.count() == 2


@pytest.mark.parametrize("value", ["abc", "60", "3", "", "36,5,1"])
def test_impossible_temperatures_are_refused(cast: Any, value: str) -> None:
    case = active(cast)
    with pytest.raises(InvalidInput) as refused:
        actions.do_record_checkin(actor=cast["doctor_a"], case=case, temperature=value, at=at(case, 1, 9))
    assert refused.value.field == "temperature" and not HealthCheck.objects.exists()


def test_fever_or_symptoms_alert_the_doctor_at_once(cast: Any) -> None:
    case = active(cast)
    check = actions.do_record_checkin(
        actor=cast["grid_worker_a"], case=case, temperature="37.8", at=at(case, 1, 9)
    )
    assert check.abnormal
    item = WorkItem.objects.get(kind="control.abnormal_checkin")
    assert item.role == "doctor" and item.community_id == case.community_id and item.priority == 4
    actions.do_record_checkin(actor=cast["grid_worker_a"], case=case, temperature="36.4", symptoms=["cough"],
                              at=at(case, 1, 17))  # fmt: skip
    assert WorkItem.objects.filter(kind="control.abnormal_checkin").count() == 2
    with pytest.raises(InvalidInput):
        actions.do_record_checkin(actor=cast["grid_worker_a"], case=case, temperature="36.4", symptoms=["hiccups"],
                                  at=at(case, 2, 9))  # fmt: skip


def test_missed_check_ins_reach_the_doctor_once(cast: Any) -> None:
    case = active(cast)
    actions.do_record_checkin(actor=cast["doctor_a"], case=case, temperature="36.5", at=at(case, 2, 8, 10))
    now = at(case, 2, 18, 30)  # day 2: 08:00 done, 16:00 more than two hours late; day 1 both missed
    assert actions.do_flag_missed_checkins(now=now) == 3
    assert WorkItem.objects.filter(kind="control.missed_checkin").count() == 3
    actions.do_flag_missed_checkins(now=now)
    assert WorkItem.objects.filter(kind="control.missed_checkin").count() == 3


def test_only_the_area_records_and_volunteers_not_at_all(cast: Any) -> None:
    case = active(cast)
    for who in ("doctor_b", "volunteer_a", "police_a"):
        with pytest.raises(Forbidden):
            actions.do_record_checkin(actor=cast[who], case=case, temperature="36.5", at=at(case, 1, 9))


def test_the_personal_link_works_without_an_account_and_shows_only_the_form(client: Any, cast: Any) -> None:
    case = active(cast)
    _link, token = actions.do_issue_checkin_link(actor=cast["community_staff_a"], case=case)
    url = reverse("checkin:form", args=[token])
    page = client.get(url).content.decode()
    assert 'name="temperature"' in page and case.person.name not in page and case.person.id_masked not in page
    assert "jd-topbar" not in page  # no navigation, no other page
    r = client.post(url, {"temperature": "38.2", "symptoms": ["cough"]})
    assert r.status_code == 200 and 'data-testid="checkin-abnormal"' in r.content.decode()
    check = HealthCheck.objects.get()
    assert check.by_self and check.abnormal and check.created_by is None
    r = client.post(url, {"temperature": "36.5"})  # replayed within the same check-in
    assert r.status_code == 409 and HealthCheck.objects.count() == 1
    r = client.post(url, {"temperature": "abc"})
    assert r.status_code in (409, 422) and HealthCheck.objects.count() == 1


def test_guessed_revoked_and_expired_links_open_nothing(client: Any, cast: Any) -> None:
    case = active(cast)
    _old, old_token = actions.do_issue_checkin_link(actor=cast["command"], case=case)
    _new, token = actions.do_issue_checkin_link(actor=cast["command"], case=case)
    for bad in (old_token, "guessed-token", token[:-1] + ("A" if token[-1] != "A" else "B")):
        r = client.get(reverse("checkin:form", args=[bad]))
        assert r.status_code == 404 and 'data-testid="link-gone"' in r.content.decode()
    with pytest.raises(NotFound):
        actions.live_link(old_token)
    link = actions.live_link(token)
    link.expires_at = timezone.now() - dt.timedelta(minutes=1)
    link.save()
    assert client.post(reverse("checkin:form", args=[token]), {"temperature": "36.5"}).status_code == 404
    assert not HealthCheck.objects.exists()


def test_the_case_page_shows_the_chart_the_link_and_records(login: Any, cast: Any) -> None:
    case = active(cast)
    client = login("community_staff_a")
    client.post(reverse("control:link", args=[case.pk]))
    page = client.get(reverse("control:case", args=[case.pk])).content.decode()
    assert 'data-testid="checkin-link"' in page and "<svg" in page
    r = client.post(reverse("control:checkin", args=[case.pk]), {"temperature": "36.6"})
    assert r.status_code == 302 and HealthCheck.objects.count() == 1
    page = client.get(reverse("control:case", args=[case.pk])).content.decode()
    assert 'data-testid="temperature-chart"' in page and page.count('data-testid="checkin-row"') == 1


def test_slots_follow_the_plan() -> None:
    class Case:
        plan = {"phases": [{"start": "2022-06-01", "end": "2022-06-02", "checkins": ["08:00", "16:00"]}]}

    tz = timezone.get_current_timezone()
    assert len(checkins.slots(Case())) == 4
    assert checkins.slot_for(Case(), dt.datetime(2022, 6, 1, 7, 0, tzinfo=tz)) == dt.datetime(
        2022, 6, 1, 8, 0, tzinfo=tz
    )
    assert checkins.slot_for(Case(), dt.datetime(2022, 6, 3, 9, 0, tzinfo=tz)) is None
    assert checkins.slot_for(Case(), dt.datetime(2022, 5, 31, 9, 0, tzinfo=tz)) is None


def test_release_ends_the_personal_link(cast: Any) -> None:
    case = active(cast)
    _link, token = actions.do_issue_checkin_link(actor=cast["command"], case=case)
    assert actions.live_link(token).case_id == case.pk
    pass_tests(case, today=case.end_date)
    actions.do_release_case(actor=cast["command"], case=case, basis="阴性", today=case.end_date)
    with pytest.raises(NotFound):
        actions.live_link(token)
    assert case.checkin_links.get().revoked_at is not None
