"""Regressions found in review: double commits, candidates across areas, stand-in persons, lost
exposure dates, the dispatch queue, deadlines of departed workers, odd input, and audit masking."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from jiedao.core.errors import Forbidden, InvalidInput
from jiedao.core.models import AuditEntry
from jiedao.registry.models import Person
from jiedao.registry.tests.factories import make_household
from jiedao.screening import actions
from jiedao.screening.choices import KeyPersonStatus
from jiedao.screening.models import KeyPerson, PushedEntry, PushedList
from jiedao.screening.tests.helpers import HEADER, csv_bytes, meta, phone_no, receive, rid, xlsx
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db
EXPOSURE_HEADER = ["姓名", "身份证号", "手机号", "末次接触时间", "现住址", "风险类别"]


def head_of(hh: Any) -> Person:
    return hh.residents.select_related("person").order_by("pk").first().person


def test_committing_one_staged_list_twice_writes_it_once(cast: Any) -> None:
    data = xlsx([HEADER, [1, "甲", rid(1), "", "", "", "", ""], [2, "乙", "", phone_no(2), "", "", "", ""]])
    plist = actions.do_stage_list(actor=cast["command"], meta=meta(), filename="l.xlsx", data=data)
    first = actions.do_receive_list(actor=cast["command"], plist=plist, data=data)
    again = actions.do_receive_list(
        actor=cast["command"], plist=PushedList.objects.get(pk=plist.pk), data=data
    )
    assert first.ok and first.previous is None
    assert again.previous is not None and again.previous.pk == plist.pk
    assert PushedEntry.objects.count() == 2 and KeyPerson.objects.count() == 2


def test_the_same_entries_in_another_file_format_change_nothing(cast: Any) -> None:
    rows = [HEADER, [1, "甲", rid(3), "", "上海", "", "", ""], [2, "乙", rid(4), "", "", "", "", ""]]
    first, result = receive(cast["command"], xlsx(rows))
    assert result.ok
    _second, again = receive(cast["command"], csv_bytes(rows), filename="l.csv")
    assert again.previous is not None and again.previous.pk == first.pk
    assert PushedList.objects.filter(committed=True).count() == 1 and PushedEntry.objects.count() == 2


def test_a_numeric_date_cell_is_a_date(cast: Any) -> None:
    _plist, result = receive(cast["command"], xlsx([HEADER, [1, "甲", rid(5), "", "上海", 20220530, "", ""]]))
    assert result.ok, result.report.messages()
    assert timezone.localtime(PushedEntry.objects.get().arrived_at).date() == dt.date(2022, 5, 30)


def test_an_overlong_document_number_is_a_row_error(cast: Any) -> None:
    rows = [["姓名", "证件类型", "证件号码"], ["甲", "护照", "E" + "1" * 39]]
    _plist, result = receive(cast["command"], xlsx(rows))
    assert not result.ok and "证件号码" in result.report.messages()[0]
    assert PushedEntry.objects.count() == 0


def test_last_exposure_is_kept_and_starts_the_form(login: Any, cast: Any) -> None:
    person = head_of(make_household(cast.community_a, cast.grid_a1))
    day = timezone.localdate() - dt.timedelta(days=2)
    receive(
        cast["command"],
        xlsx([EXPOSURE_HEADER, [person.name, person.id_number, "", day.isoformat(), "", "密接"]]),
    )
    entry = PushedEntry.objects.get()
    assert timezone.localtime(entry.exposed_at).date() == day
    page = (
        login("grid_worker_a").get(reverse("screening:verify", args=[entry.key_person_id])).content.decode()
    )
    assert f'value="{day.isoformat()}"' in page


def test_a_person_in_dispatch_is_routed_by_a_later_list(cast: Any) -> None:
    hh = make_household(cast.community_a, cast.grid_a1, compound="甲花园")
    receive(cast["command"], xlsx([HEADER, [1, "游客", rid(7), "", "", "", "外地某处", ""]]))
    kp = KeyPerson.objects.get()
    assert kp.status == KeyPersonStatus.DISPATCH
    receive(
        cast["command"], xlsx([HEADER, [1, "游客", rid(7), "", "", "", f"{hh.address}", ""]]), title="第二份"
    )
    kp.refresh_from_db()
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.community_id == cast.community_a.pk
    assert WorkItem.objects.filter(kind="screening.verify", status="open").count() == 1


def test_a_handed_back_person_stays_with_the_dispatcher(cast: Any) -> None:
    hh = make_household(cast.community_a, cast.grid_a1, compound="甲花园")
    receive(cast["command"], xlsx([HEADER, [1, "游客", rid(8), "", "", "", hh.address, ""]]))
    kp = KeyPerson.objects.get()
    actions.do_hand_back_key_person(actor=cast["community_staff_a"], kp=kp, reason="不住这里")
    receive(cast["command"], xlsx([HEADER, [1, "游客", rid(8), "", "", "", hh.address, ""]]), title="第二份")
    kp.refresh_from_db()
    assert kp.status == KeyPersonStatus.DISPATCH


def test_a_deadline_moves_even_when_the_assignee_has_left(cast: Any) -> None:
    person = head_of(make_household(cast.community_a, cast.grid_a1))
    receive(cast["command"], xlsx([HEADER, [1, person.name, person.id_number, "", "", "", "", "黄码"]]))
    item = WorkItem.objects.get(kind="screening.verify")
    WorkItem.objects.filter(pk=item.pk).update(assignee=cast["grid_worker_a"])
    worker = cast["grid_worker_a"]
    worker.is_active = False
    worker.save()
    worker.assignments.all().delete()
    _plist, result = receive(
        cast["command"],
        xlsx([HEADER, [1, person.name, person.id_number, "", "", "", "", "密接"]]),
        title="密接",
    )
    assert result.ok, result.report.messages()
    item.refresh_from_db()
    assert item.due_at == KeyPerson.objects.get().due_at


def _candidate_setup(cast: Any) -> tuple[KeyPerson, Person]:
    """A pushed person with a new document whose name matches a resident of 甲花园 (grid A1)."""
    hh = make_household(cast.community_a, cast.grid_a1, compound="甲花园")
    resident = head_of(hh)
    Person.objects.filter(pk=resident.pk).update(
        id_index="", id_number="", id_masked="", phone="", phone_index=""
    )
    receive(cast["command"], xlsx([HEADER, [1, resident.name, rid(9), phone_no(9), "", "", "甲花园9栋", ""]]))
    kp = KeyPerson.objects.get()
    assert kp.candidates == [resident.pk]
    return kp, Person.objects.get(pk=resident.pk)


def test_confirming_a_candidate_gives_them_the_pushed_document_and_the_next_list_finds_them(
    cast: Any,
) -> None:
    kp, resident = _candidate_setup(cast)
    stand_in = kp.person_id
    actions.do_confirm_candidate(actor=cast["community_staff_a"], kp=kp, person=resident)
    assert not Person.objects.filter(pk=stand_in).exists()
    resident.refresh_from_db()
    assert resident.id_number == rid(9) and resident.phone == phone_no(9)
    receive(cast["command"], xlsx([HEADER, [1, resident.name, rid(9), "", "", "", "", ""]]), title="第二份")
    assert KeyPerson.objects.count() == 1 and KeyPerson.objects.get().entries.count() == 2


def test_candidates_outside_the_users_area_are_neither_shown_nor_accepted(login: Any, cast: Any) -> None:
    other_hh = make_household(cast.community_b, cast.grid_b1)
    outsider = head_of(other_hh)
    hh = make_household(cast.community_a, cast.grid_a1, compound="甲花园")
    receive(
        cast["command"],
        xlsx([HEADER, [1, "别名", "", outsider.phone, "", "", f"甲花园{hh.address[-8:]}", ""]]),
    )
    kp = KeyPerson.objects.get(person__name="别名")
    assert outsider.pk in kp.candidates and kp.community_id == cast.community_a.pk
    page = login("grid_worker_a").get(reverse("screening:key_person", args=[kp.pk])).content.decode()
    assert outsider.name not in page and outsider.id_masked not in page
    with pytest.raises(InvalidInput):
        actions.do_confirm_candidate(actor=cast["grid_worker_a"], kp=kp, person=outsider)
    assert KeyPerson.objects.filter(pk=kp.pk).exists()


def test_joining_a_key_person_of_another_area_is_refused(cast: Any) -> None:
    kp, resident = _candidate_setup(cast)
    other = KeyPerson.objects.create(
        person=resident, category="close_contact", protocol_key=kp.protocol_key, received_at=kp.received_at,
        due_at=kp.due_at, community=cast.community_b, grid=cast.grid_b1, status=KeyPersonStatus.WRONG_PERSON,
    )  # fmt: skip
    with pytest.raises(Forbidden):
        actions.do_confirm_candidate(actor=cast["grid_worker_a"], kp=kp, person=resident)
    other.refresh_from_db()
    assert other.status == KeyPersonStatus.WRONG_PERSON and KeyPerson.objects.filter(pk=kp.pk).exists()


def test_odd_ids_in_urls_and_forms_are_not_errors(login: Any, cast: Any) -> None:
    person = head_of(make_household(cast.community_a, cast.grid_a1))
    receive(cast["command"], xlsx([HEADER, [1, person.name, person.id_number, "", "", "", "", ""]]))
    kp = KeyPerson.objects.get()
    client = login("command")
    assert client.get("/screening/", {"community": "9" * 30, "list": "²", "grid": "-1"}).status_code == 200
    assert client.post(reverse("screening:match", args=[kp.pk]), {"person": "²"}).status_code == 302
    assert client.post(reverse("screening:route", args=[kp.pk]), {"community": "²"}).status_code == 302


def test_the_exports_audit_entry_keeps_no_full_id(login: Any, cast: Any) -> None:
    number = rid(11)
    login("command").get(reverse("screening:key_persons_export"), {"q": number})
    entry = AuditEntry.objects.filter(action="screening.export_key_persons").get()
    assert number not in str(entry.changes) and number[-4:] in str(entry.changes)


def test_the_staged_page_of_a_file_received_since_goes_to_that_list(login: Any, cast: Any) -> None:
    data = xlsx([HEADER, [1, "甲", rid(12), "", "", "", "", ""]])
    staged = [
        actions.do_stage_list(actor=cast["command"], meta=meta(), filename="l.xlsx", data=data) for _ in "ab"
    ]
    actions.do_receive_list(actor=cast["command"], plist=staged[0], data=data)
    r = login("command").get(reverse("screening:list_staged", args=[staged[1].pk]))
    assert r.status_code == 302 and r["Location"] == reverse("screening:list", args=[staged[0].pk])


def test_an_overdue_verification_escalates_to_the_community_office(cast: Any) -> None:
    from jiedao.work.actions import do_escalate_overdue

    person = head_of(make_household(cast.community_a, cast.grid_a1))
    plist, _result = receive(
        cast["command"], xlsx([HEADER, [1, person.name, person.id_number, "", "", "", "", ""]])
    )
    item = WorkItem.objects.get(kind="screening.verify")
    # Close contacts: 12 hours from the push (national 9th edition's urgent_verification_hours).
    assert item.due_at == plist.received_at + dt.timedelta(hours=12)
    assert do_escalate_overdue(now=plist.received_at + dt.timedelta(hours=11)) == []
    escalated = do_escalate_overdue(now=plist.received_at + dt.timedelta(hours=14))
    assert [i.pk for i in escalated] == [item.pk] and escalated[0].escalated_to == cast["community_staff_a"]


def test_lists_uploaded_but_never_received_are_forgotten_with_their_files(
    cast: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from pathlib import Path

    from jiedao.screening.jobs import forget_stale_lists  # noqa: F401  (the nightly job exists)

    data = xlsx([HEADER, [1, "甲", rid(21), "", "", "", "", ""]])
    stale = actions.do_stage_list(actor=cast["command"], meta=meta(), filename="l.xlsx", data=data)
    kept = Path(settings.VAR_DIR) / "imports" / f"{stale.sha256}.enc"
    assert kept.exists()
    received, _result = receive(
        cast["command"], xlsx([HEADER, [1, "乙", rid(22), "", "", "", "", ""]]), title="已接收"
    )
    PushedList.objects.filter(pk=stale.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.do_forget_stale_lists() == 1
    assert not PushedList.objects.filter(pk=stale.pk).exists() and not kept.exists()
    assert PushedList.objects.filter(pk=received.pk, committed=True).exists()
    assert actions.do_forget_stale_lists() == 0
