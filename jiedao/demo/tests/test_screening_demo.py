"""The demo's week of pushed lists: received through the screening actions, of every kind and mix,
verified by the right people on the right days, with open, overdue, dispatched and handed-back key
persons, and work on the Nanhu grid worker's Today page. One build (5,000 residents) serves the module."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import models
from django.db.models import Count, Min
from django.utils import timezone

from jiedao.core.models import AuditEntry
from jiedao.demo.build import person_digest
from jiedao.demo.screening import DAYS, LISTS
from jiedao.org.choices import Role
from jiedao.org.models import User
from jiedao.registry.models import Person
from jiedao.screening.choices import (
    OPEN_STATUSES,
    VERIFIED_STATUSES,
    KeyPersonStatus,
    MatchMethod,
    Outcome,
    RouteMethod,
    Source,
)
from jiedao.screening.models import HandBack, KeyPerson, PushedEntry, PushedList, Verification
from jiedao.screening.queries import VERIFY_ROLES, can_in_area, overdue_q
from jiedao.work.choices import OPEN_STATUSES as WORK_OPEN
from jiedao.work.choices import WorkStatus
from jiedao.work.models import WorkItem
from jiedao.work.queries import inbox, today_board

pytestmark = pytest.mark.django_db


def test_a_week_of_lists_from_every_source(demo: dict[str, Any]) -> None:
    # the city platform's lists; testing pushes the positive pool's members on a list of its own
    lists = list(
        PushedList.objects.filter(committed=True).exclude(source=Source.POSITIVE_POOL).order_by("received_at")
    )
    assert len(lists) == len(LISTS) == demo["counts"]["pushed_lists"]
    days = sorted({timezone.localtime(p.received_at).date() for p in lists})
    today = timezone.localdate()
    assert days == [today - dt.timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    assert all(p.received_at <= timezone.now() for p in lists)
    sources = {p.source for p in lists}
    # positive pools are pushed by testing here, not by the city platform's lists
    assert sources == set(Source.values) - {Source.OTHER, Source.POSITIVE_POOL}
    command = User.objects.get(username="command")
    for p in lists:
        # Every list came in as a file through staging and intake, by the command centre.
        assert p.filename.endswith(".xlsx") and len(p.sha256) == 64 and p.created_by == command
        assert p.rows == p.entries.count() == p.counts["received"] > 0
    received = AuditEntry.objects.filter(action="screening.receive_list")
    assert received.count() == len(lists) and set(received.values_list("actor_id", flat=True)) == {command.pk}
    assert AuditEntry.objects.filter(action="demo.build_screening").count() == 1
    # Proportional to the scale: tens of people at the test scale.
    city = PushedEntry.objects.exclude(pushed_list__source=Source.POSITIVE_POOL)
    assert 40 <= city.count() == demo["counts"]["pushed_entries"] <= 200


def test_the_mix_of_people(demo: dict[str, Any]) -> None:
    matches = dict(PushedEntry.objects.values_list("match").annotate(n=Count("pk")))
    assert matches[MatchMethod.ID] > matches.get(MatchMethod.PHONE, 0) > 0
    assert matches[MatchMethod.NEW] > 0
    # Phone-only entries: no document on the row, matched to a register resident by phone.
    by_phone = PushedEntry.objects.filter(match=MatchMethod.PHONE)
    assert all(e.id_number == "" and e.phone for e in by_phone)
    assert all(e.key_person.person.id_number for e in by_phone)
    # A name that differs from the register's, matched by the document and flagged.
    mismatched = PushedEntry.objects.filter(match=MatchMethod.ID).exclude(match_note="")
    assert mismatched.exists()
    assert all(e.name != e.key_person.person.name for e in mismatched)
    # People new to the register: some routed by their address to a demo compound, some outside the
    # subdistrict and so waiting in the dispatch queue.
    new = KeyPerson.objects.filter(entries__match=MatchMethod.NEW).distinct()
    assert new.filter(route_method=RouteMethod.ADDRESS, compound__isnull=False).exists()
    assert new.filter(status=KeyPersonStatus.DISPATCH, handbacks__isnull=True).exists()
    assert Person.objects.filter(key_person__in=new).count() == demo["counts"]["new_persons_from_lists"]
    assert not Person.objects.filter(key_person__in=new, residencies__isnull=False).exists()
    # Register residents are routed to their household.
    household = KeyPerson.objects.filter(route_method=RouteMethod.HOUSEHOLD)
    assert household.count() > KeyPerson.objects.count() / 2
    assert all(kp.household.grid_id == kp.grid_id for kp in household.select_related("household"))
    # The new persons are part of the build's digest.
    assert person_digest() == demo["digest"]


def test_people_on_two_lists(demo: dict[str, Any]) -> None:
    twice = KeyPerson.objects.annotate(
        lists=Count("entries__pushed_list", distinct=True), entries_n=Count("entries")
    ).filter(lists__gte=2)
    assert twice.exists()
    assert all(kp.lists == kp.entries_n for kp in twice)  # never twice on one list
    assert PushedEntry.objects.values("key_person").distinct().count() == KeyPerson.objects.count()


def test_states_overdue_and_hand_backs(demo: dict[str, Any]) -> None:
    city = KeyPerson.objects.exclude(entries__pushed_list__source=Source.POSITIVE_POOL)
    statuses = dict(city.values_list("status").annotate(n=Count("pk")))
    for status in (KeyPersonStatus.TO_VERIFY, KeyPersonStatus.CLASSIFIED, KeyPersonStatus.DISPATCH):
        assert statuses.get(status, 0) > 0, status
    assert sum(statuses.values()) == demo["counts"]["key_persons"]
    assert statuses[KeyPersonStatus.TO_VERIFY] == demo["counts"]["key_persons_to_verify"]
    assert KeyPerson.objects.filter(overdue_q()).exists()
    # Today's lists are still mostly open; the oldest ones mostly verified.
    today = timezone.localdate()
    first_seen = KeyPerson.objects.annotate(first=Min("entries__pushed_list__received_at"))
    old = [kp for kp in first_seen if (today - timezone.localtime(kp.first).date()).days >= 4]
    assert old and sum(kp.status in VERIFIED_STATUSES for kp in old) > len(old) / 2
    backs = list(HandBack.objects.select_related("key_person", "community"))
    assert backs and len(backs) == demo["counts"]["hand_backs"]
    for back in backs:
        assert back.reason.strip()
        staff = back.created_by
        assert staff is not None and staff.username == f"{_slug(back.community.name)}_staff"
        # No longer theirs, unless a later list pushed the person again to the same address.
        kp = back.key_person
        assert kp.community_id != back.community_id or kp.round > 1
    assert AuditEntry.objects.filter(action="screening.hand_back").count() == len(backs)


def _slug(community_name: str) -> str:
    from jiedao.demo import data

    return next(c.slug for c in data.COMMUNITIES if c.name == community_name)


def test_verified_by_the_right_people_on_the_list_days(demo: dict[str, Any]) -> None:
    now = timezone.now()
    verifications = list(Verification.objects.select_related("key_person", "created_by"))
    assert len(verifications) == demo["counts"]["verifications"]
    outcomes = {v.outcome for v in verifications}
    assert {Outcome.REACHED_IN_AREA, Outcome.UNREACHABLE} <= outcomes
    assert outcomes & {Outcome.REACHED_ELSEWHERE, Outcome.WRONG_PERSON}
    first_list = dict(
        KeyPerson.objects.annotate(first=Min("entries__pushed_list__received_at")).values_list("pk", "first")
    )
    days = set()
    for v in verifications:
        kp = v.key_person
        # Stamped on the simulated day: after the person was first pushed, never in the future.
        assert first_list[kp.pk] <= v.created_at <= now
        days.add(timezone.localtime(v.created_at).date())
        user = v.created_by
        assert user is not None and user.roles & {Role.GRID_WORKER, Role.COMMUNITY_STAFF}
        closed_here = (
            kp.round == 1 and kp.status in VERIFIED_STATUSES and kp.route_method != RouteMethod.MANUAL
        )
        if v.outcome == Outcome.REACHED_IN_AREA and closed_here:
            assert can_in_area(user, VERIFY_ROLES, kp)
            if kp.grid_id:
                assert user.roles == {Role.GRID_WORKER} and user.scope.grid_ids == {kp.grid_id}
    assert len(days) >= 4
    classified = KeyPerson.objects.filter(status=KeyPersonStatus.CLASSIFIED)
    assert classified.exists()
    for kp in classified:
        verified = timezone.localtime(kp.verified_at).date()
        assert kp.measure_start is not None and kp.measure_end is not None
        assert kp.measure_start <= verified <= kp.measure_end
        assert kp.work_item is not None and kp.work_item.status == WorkStatus.DONE
        assert kp.work_item.done_at == kp.verified_at
    # Still open after an unreachable call: the work item was started and is still open.
    unreached = KeyPerson.objects.filter(
        status=KeyPersonStatus.TO_VERIFY, round=1, verifications__outcome=Outcome.UNREACHABLE
    ).exclude(route_method=RouteMethod.MANUAL)
    assert unreached.exists()
    assert all(kp.work_item is not None and kp.work_item.status == WorkStatus.IN_PROGRESS for kp in unreached)


def test_the_nanhu_grid_worker_has_people_to_verify(demo: dict[str, Any]) -> None:
    worker = User.objects.get(username="grid_binjiang_1")
    now = timezone.now()
    items = list(inbox(worker).filter(kind="screening.verify"))
    open_items = [i for i in items if i.status in WORK_OPEN]
    assert len(open_items) >= 3
    assert any(i.due_at < now for i in open_items)  # overdue
    assert all(i.grid_id in worker.scope.grid_ids and i.role == Role.GRID_WORKER for i in items)
    # Each item is the verification of an open key person in that grid.
    kps = KeyPerson.objects.in_bulk([int(i.subject_id) for i in open_items])
    assert all(kps[int(i.subject_id)].work_item_id == i.pk for i in open_items)
    assert all(kps[int(i.subject_id)].status in OPEN_STATUSES for i in open_items)
    board = today_board(worker, now)
    assert any(i.kind == "screening.verify" for i in board.buckets["overdue"])
    # Verified items were done on their own days, not all at build time.
    done = WorkItem.objects.filter(kind="screening.verify", status=WorkStatus.DONE)
    assert done.filter(done_at__lt=now - dt.timedelta(days=2)).exists()


def test_the_demo_has_control_cases_running_and_some_waiting(demo: dict[str, Any]) -> None:
    from jiedao.control.choices import CaseStatus
    from jiedao.control.models import ControlCase

    statuses = set(ControlCase.objects.values_list("status", flat=True))
    assert CaseStatus.ACTIVE in statuses
    today = timezone.localdate()
    # Cases on different days of their measure, each with an end date after its start.
    days = {c.day_of(today) for c in ControlCase.objects.filter(status=CaseStatus.ACTIVE)}
    assert len(days) >= 3
    assert not ControlCase.objects.filter(end_date__lt=models.F("start_date")).exists()
