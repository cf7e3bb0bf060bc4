"""Working a key person: verification and its classification per protocol, hand-back to the dispatch
queue and routing from it, and confirming or dismissing candidate matches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone, translation

from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.core.models import AuditEntry
from jiedao.registry.models import Person
from jiedao.registry.tests.factories import make_household, make_person
from jiedao.screening import actions
from jiedao.screening.choices import KeyPersonStatus, MatchMethod, Outcome, RouteMethod
from jiedao.screening.models import HandBack, KeyPerson, Verification
from jiedao.screening.queries import list_stats
from jiedao.screening.tests.helpers import HEADER, phone_no, receive, rid, xlsx
from jiedao.work.choices import OPEN_STATUSES as WORK_OPEN
from jiedao.work.choices import WorkStatus
from jiedao.work.models import WorkItem
from jiedao.work.queries import inbox

pytestmark = pytest.mark.django_db


OUT_OF_AREA = (Forbidden, NotFound)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


_n = iter(range(1, 10**6))


def push(cast: Any, *rows: tuple[Any, ...], **meta: Any) -> Any:
    """Receive rows (姓名, 身份证号, 手机号, 现住址, 风险类别) as a list; returns the list."""
    full = [[next(_n), name, number, phone, "上海", "2022-07-01", address, category, f"第{next(_n)}批"]
            for name, number, phone, address, category in rows]  # fmt: skip
    plist, result = receive(cast["command"], xlsx([[*HEADER, "备注"], *full]), **meta)
    assert result.ok, result.report.messages()
    return plist


def routed(cast: Any, category: str = "密接", grid: Any = None) -> tuple[KeyPerson, Any]:
    """A resident of grid A1 (or `grid`) pushed in a list of `category`: their key person and the list."""
    hh = make_household(cast.community_a, grid or cast.grid_a1, members=1)
    p = hh.residents.get().person
    plist = push(cast, (p.name, p.id_number, "", "", category))
    kp = KeyPerson.objects.select_related("work_item", "person").get(person=p)
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.work_item is not None
    return kp, plist


def fresh(kp: KeyPerson) -> KeyPerson:
    return KeyPerson.objects.select_related("work_item").get(pk=kp.pk)


def verify(actor: Any, kp: KeyPerson, **kw: Any) -> Verification:
    kw.setdefault("outcome", Outcome.REACHED_IN_AREA)
    return actions.do_verify_key_person(actor=actor, kp=kp, **kw)


def state(kp: KeyPerson) -> tuple[Any, ...]:
    kp = fresh(kp)
    item_status = kp.work_item.status if kp.work_item else None
    return (kp.status, kp.attempts, kp.community_id, kp.grid_id, kp.work_item_id, item_status,
            Verification.objects.count(), HandBack.objects.count())  # fmt: skip


# ---- verification --------------------------------------------------------------------------------


def test_reached_in_area_classifies_per_protocol(cast):
    kp, _plist = routed(cast)
    today = timezone.localdate()
    exposed = today - dt.timedelta(days=2)
    v = verify(
        cast["grid_worker_a"], kp, category="close_contact", last_exposure=exposed, current_address="家中"
    )
    kp = fresh(kp)
    start = exposed + dt.timedelta(days=1)
    assert kp.status == KeyPersonStatus.CLASSIFIED and kp.classified_category == "close_contact"
    assert kp.measure_type == "CENTRAL_QUARANTINE"  # 7 days central quarantine, then 3 days home monitoring
    assert (kp.measure_start, kp.measure_end) == (start, start + dt.timedelta(days=9))
    assert kp.verified_at is not None and kp.attempts == 1 and kp.address_text == "家中"
    assert (v.category, v.proposed_category, v.measure_start, v.measure_end) == (
        "close_contact",
        "close_contact",
        kp.measure_start,
        kp.measure_end,
    )
    item = kp.work_item
    assert (
        item.status == WorkStatus.DONE
        and "close" in item.outcome.lower()
        and str(kp.measure_end) in item.outcome
    )
    assert AuditEntry.objects.filter(action="screening.verify", object_id=str(kp.pk)).count() == 1


def test_a_long_past_exposure_proposes_no_measure(cast):
    kp, _plist = routed(cast)
    today = timezone.localdate()
    proposal = actions.propose(
        actions.get_protocol(kp.protocol_key), kp.category, last_exposure=today - dt.timedelta(days=30),
        symptoms=False, today=today,
    )  # fmt: skip
    assert proposal.proposed == ""
    v = verify(
        cast["grid_worker_a"], kp, category=proposal.proposed, last_exposure=today - dt.timedelta(days=30)
    )
    kp = fresh(kp)
    assert v.proposed_category == "" and kp.status == KeyPersonStatus.CLEARED
    assert (kp.measure_type, kp.measure_start, kp.measure_end) == ("", None, None)
    assert kp.work_item.status == WorkStatus.DONE


def test_confirming_a_measure_that_is_already_over_clears(cast):
    kp, _plist = routed(cast)
    verify(
        cast["grid_worker_a"],
        kp,
        category="close_contact",
        last_exposure=timezone.localdate() - dt.timedelta(days=30),
    )
    kp = fresh(kp)
    assert kp.status == KeyPersonStatus.CLEARED and kp.measure_end is None


def test_classify_only_categories_need_one_of_their_classes(cast):
    kp, _plist = routed(cast, "红码")
    worker = cast["grid_worker_a"]
    before = state(kp)
    for wrong in ("red_code", "low_risk_area_arrival", "no_such_thing"):
        with pytest.raises(InvalidInput) as exc:
            verify(worker, kp, category=wrong)
        assert exc.value.field == "category"
    with pytest.raises(InvalidInput) as exc:
        verify(worker, kp, category=None)
    assert exc.value.field == "category"
    assert state(kp) == before
    today = timezone.localdate()
    v = verify(worker, kp, category="companion", today=today)
    kp = fresh(kp)
    assert v.proposed_category == "close_contact"  # the first the protocol offers
    assert kp.status == KeyPersonStatus.CLASSIFIED and kp.classified_category == "companion"
    assert (kp.measure_type, kp.measure_start, kp.measure_end) == (
        "TWO_IN_THREE",
        today,
        today + dt.timedelta(days=2),
    )
    assert kp.attempts == 1  # the refused tries counted nothing


def test_unreachable_stays_open_and_counts_attempts(cast):
    kp, _plist = routed(cast)
    worker = cast["grid_worker_a"]
    verify(worker, kp, outcome=Outcome.UNREACHABLE, attempts=3)
    verify(worker, kp, outcome=Outcome.UNREACHABLE, attempts=2, notes="关机")
    kp = fresh(kp)
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.attempts == 5 and kp.verified_at is None
    assert kp.work_item.status == WorkStatus.OPEN and kp.work_item in inbox(worker)
    assert list(kp.verifications.values_list("attempts", flat=True)) == [2, 3]
    with pytest.raises(InvalidInput) as exc:
        verify(worker, kp, outcome=Outcome.UNREACHABLE, attempts=0)
    assert exc.value.field == "attempts"


def test_wrong_person_closes(cast):
    kp, _plist = routed(cast)
    verify(cast["grid_worker_a"], kp, outcome=Outcome.WRONG_PERSON)
    kp = fresh(kp)
    assert kp.status == KeyPersonStatus.WRONG_PERSON and kp.verified_at is not None
    assert kp.work_item.status == WorkStatus.DONE


def test_reached_elsewhere_needs_where_and_closes(cast):
    kp, _plist = routed(cast)
    worker = cast["grid_worker_a"]
    before = state(kp)
    with pytest.raises(InvalidInput) as exc:
        verify(worker, kp, outcome=Outcome.REACHED_ELSEWHERE, where="  ")
    assert exc.value.field == "where" and state(kp) == before
    v = verify(worker, kp, outcome=Outcome.REACHED_ELSEWHERE, where="重庆市渝中区")
    kp = fresh(kp)
    assert kp.status == KeyPersonStatus.ELSEWHERE and v.where == "重庆市渝中区"
    assert kp.work_item.status == WorkStatus.DONE and "重庆市渝中区" in kp.work_item.outcome


def test_verifying_twice_is_a_conflict(cast):
    kp, _plist = routed(cast)
    stale = fresh(kp)  # a second phone opened the form before the first one saved
    verify(cast["grid_worker_a"], kp, outcome=Outcome.WRONG_PERSON)
    with pytest.raises(Conflict):
        verify(cast["grid_worker_a"], kp, category="close_contact")
    with pytest.raises(Conflict):
        verify(cast["community_staff_a"], stale, outcome=Outcome.UNREACHABLE)
    assert Verification.objects.count() == 1
    assert fresh(kp).status == KeyPersonStatus.WRONG_PERSON


@pytest.mark.parametrize(
    "who", ["grid_worker_a2", "grid_worker_b", "community_staff_b", "police_a", "auditor", "outsider"]
)
def test_only_the_area_verifies(cast, who):
    kp, _plist = routed(cast)
    before = state(kp)
    with pytest.raises(OUT_OF_AREA):
        verify(cast[who], kp, category="close_contact")
    assert state(kp) == before


@pytest.mark.parametrize("who", ["grid_worker_a", "community_staff_a", "command"])
def test_the_area_and_the_command_centre_verify(cast, who):
    kp, _plist = routed(cast)
    verify(cast[who], kp, outcome=Outcome.UNREACHABLE)
    assert fresh(kp).attempts == 1


def test_a_future_exposure_or_an_unknown_outcome_is_refused(cast):
    kp, _plist = routed(cast)
    before = state(kp)
    with pytest.raises(InvalidInput) as exc:
        verify(
            cast["grid_worker_a"],
            kp,
            category="close_contact",
            last_exposure=timezone.localdate() + dt.timedelta(days=1),
        )
    assert exc.value.field == "last_exposure"
    with pytest.raises(InvalidInput) as exc:
        verify(cast["grid_worker_a"], kp, outcome="found")
    assert exc.value.field == "outcome"
    assert state(kp) == before


# ---- hand-back and routing -----------------------------------------------------------------------


def test_hand_back_then_route_to_another_community(cast):
    kp, plist = routed(cast)
    old_item = kp.work_item
    staff = cast["community_staff_a"]
    with pytest.raises(InvalidInput) as exc:
        actions.do_hand_back_key_person(actor=staff, kp=kp, reason="   ")
    assert exc.value.field == "reason" and HandBack.objects.count() == 0
    back = actions.do_hand_back_key_person(actor=staff, kp=kp, reason="已搬至乙社区")
    kp = fresh(kp)
    assert (back.community_id, back.reason, back.key_person_id) == (
        cast.community_a.pk,
        "已搬至乙社区",
        kp.pk,
    )
    assert kp.status == KeyPersonStatus.DISPATCH and (kp.community_id, kp.grid_id, kp.work_item_id) == (
        None,
        None,
        None,
    )
    old_item.refresh_from_db()
    assert old_item.status == WorkStatus.CANCELLED and "已搬至乙社区" in old_item.outcome
    assert not inbox(cast["grid_worker_a"]).filter(status__in=WORK_OPEN).exists()
    stats = list_stats([plist.pk])[plist.pk]
    assert (stats["handed_back"], stats["dispatch"], stats["routed"]) == (1, 1, 0)
    assert AuditEntry.objects.filter(action="screening.hand_back", object_id=str(kp.pk)).exists()

    with pytest.raises(Forbidden):
        actions.do_route_key_person(actor=staff, kp=kp, community=cast.community_b, grid=cast.grid_b1)
    with pytest.raises(InvalidInput):
        actions.do_route_key_person(
            actor=cast["command"], kp=kp, community=cast.community_b, grid=cast.grid_a1
        )
    actions.do_route_key_person(actor=cast["command"], kp=kp, community=cast.community_b, grid=cast.grid_b1)
    kp = fresh(kp)
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.route_method == RouteMethod.MANUAL
    assert (kp.community_id, kp.grid_id) == (cast.community_b.pk, cast.grid_b1.pk)
    item = kp.work_item
    assert item.pk != old_item.pk and item.status == WorkStatus.OPEN and item.due_at == kp.due_at
    assert item in inbox(cast["grid_worker_b"]) and item not in inbox(cast["grid_worker_a"])
    assert list_stats([plist.pk])[plist.pk]["handed_back"] == 1  # the issuer still sees it
    assert WorkItem.objects.filter(kind="screening.verify", status__in=WORK_OPEN).count() == 1


def test_a_verified_person_cannot_be_handed_back_or_routed(cast):
    kp, _plist = routed(cast)
    verify(cast["grid_worker_a"], kp, outcome=Outcome.WRONG_PERSON)
    kp = fresh(kp)
    with pytest.raises(Conflict):
        actions.do_hand_back_key_person(actor=cast["community_staff_a"], kp=kp, reason="不是我们的")
    with pytest.raises(Conflict):
        actions.do_route_key_person(actor=cast["command"], kp=kp, community=cast.community_b)
    assert HandBack.objects.count() == 0 and fresh(kp).status == KeyPersonStatus.WRONG_PERSON


@pytest.mark.parametrize("who", ["grid_worker_b", "community_staff_b", "grid_worker_a", "grid_worker_a2"])
def test_only_the_communitys_office_hands_back(cast, who):
    kp, _plist = routed(cast)
    before = state(kp)
    with pytest.raises(OUT_OF_AREA):
        actions.do_hand_back_key_person(actor=cast[who], kp=kp, reason="不是我们的")
    assert state(kp) == before


def test_route_from_the_dispatch_queue_to_a_community_without_a_grid(cast):
    push(cast, ("无址", rid(8100), phone_no(8100), "", "密接"))
    kp = KeyPerson.objects.get()
    assert kp.status == KeyPersonStatus.DISPATCH
    with pytest.raises(Conflict):
        actions.do_hand_back_key_person(actor=cast["command"], kp=kp, reason="不在本辖区")
    actions.do_route_key_person(actor=cast["command"], kp=kp, community=cast.community_a)
    kp = fresh(kp)
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.work_item.role == "community_staff"
    assert kp.work_item in inbox(cast["community_staff_a"]) and kp.work_item not in inbox(
        cast["community_staff_b"]
    )


# ---- candidates ----------------------------------------------------------------------------------


def _shared_phone_case(cast: Any) -> tuple[KeyPerson, Person, Person]:
    hh = make_household(cast.community_a, cast.grid_a2, members=1)
    mother = hh.residents.get().person
    son = make_person(name="刘强", phone=mother.phone)
    push(cast, ("刘小强", "", mother.phone, "", "密接"))
    kp = KeyPerson.objects.get()
    assert sorted(kp.candidates) == sorted([mother.pk, son.pk]) and kp.status == KeyPersonStatus.DISPATCH
    return kp, mother, son


def test_confirming_a_candidate_moves_the_key_person_to_their_household(cast):
    kp, mother, _son = _shared_phone_case(cast)
    command = cast["command"]
    outsider = make_person(name="无关")
    with pytest.raises(InvalidInput):
        actions.do_confirm_candidate(actor=command, kp=kp, person=outsider)
    with pytest.raises(OUT_OF_AREA):
        actions.do_confirm_candidate(
            actor=cast["community_staff_a"], kp=kp, person=mother
        )  # dispatch: not theirs
    actions.do_confirm_candidate(actor=command, kp=kp, person=mother)
    kp = fresh(kp)
    assert kp.person_id == mother.pk and kp.candidates == []
    assert set(kp.entries.values_list("match", flat=True)) == {MatchMethod.CONFIRMED}
    assert kp.status == KeyPersonStatus.TO_VERIFY and (kp.community_id, kp.grid_id) == (
        cast.community_a.pk,
        cast.grid_a2.pk,
    )
    assert kp.work_item in inbox(cast["grid_worker_a2"])


def test_confirming_a_candidate_who_is_already_a_key_person_joins_them(cast):
    kp_mother, _plist = routed(cast, "黄码")
    mother = kp_mother.person
    push(cast, ("不同名", "", mother.phone, "", "密接"))
    pushed = KeyPerson.objects.exclude(pk=kp_mother.pk).get()
    assert pushed.candidates == [mother.pk]
    joined = actions.do_confirm_candidate(actor=cast["grid_worker_a"], kp=pushed, person=mother) if pushed.community_id else (
        actions.do_confirm_candidate(actor=cast["command"], kp=pushed, person=mother)
    )  # fmt: skip
    assert joined.pk == kp_mother.pk and not KeyPerson.objects.filter(pk=pushed.pk).exists()
    assert joined.entries.count() == 2
    assert fresh(joined).due_at == min(kp_mother.due_at, pushed.due_at)


def test_confirming_a_cleared_key_person_verifies_them_again(cast):
    kp_before, _plist = routed(cast, grid=cast.grid_a2)
    verify(cast["grid_worker_a2"], kp_before, outcome=Outcome.WRONG_PERSON)
    person = kp_before.person
    push(cast, ("另一个名字", "", person.phone, "", "时空伴随"))
    pushed = KeyPerson.objects.exclude(pk=kp_before.pk).get()
    assert pushed.candidates == [person.pk] and pushed.status == KeyPersonStatus.DISPATCH
    joined = actions.do_confirm_candidate(actor=cast["command"], kp=pushed, person=person)
    kp = fresh(joined)
    assert kp.pk == kp_before.pk and kp.entries.count() == 2
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.round == 2 and kp.category == "companion"
    assert (kp.due_at, kp.verified_at) == (pushed.due_at, None)
    assert (kp.community_id, kp.grid_id) == (cast.community_a.pk, cast.grid_a2.pk)
    assert kp.work_item.pk != kp_before.work_item.pk and kp.work_item.status == WorkStatus.OPEN
    assert kp.work_item in inbox(cast["grid_worker_a2"])


def test_dismissing_candidates(cast):
    kp, _mother, _son = _shared_phone_case(cast)
    with pytest.raises(OUT_OF_AREA):
        actions.do_dismiss_candidates(actor=cast["grid_worker_b"], kp=kp)
    actions.do_dismiss_candidates(actor=cast["command"], kp=kp)
    kp = fresh(kp)
    assert kp.candidates == [] and kp.person.name == "刘小强"
    assert AuditEntry.objects.filter(action="screening.dismiss_candidates", object_id=str(kp.pk)).exists()
