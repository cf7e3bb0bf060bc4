"""The missing lists sent to the grids on a schedule: every N hours while a round is under way, from
the round's start or the last send (by hand or by the schedule), never after its end; only the command
centre sets it, and it is on record."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from jiedao.core.errors import Forbidden, InvalidInput
from jiedao.core.models import AuditEntry
from jiedao.nat import jobs
from jiedao.nat.actions import do_apply_registrations
from jiedao.nat.choices import RoundStatus
from jiedao.nat.rounds import (
    do_issue_missing_work_items,
    do_send_due_missing_lists,
    do_set_missing_schedule,
    next_missing_send,
)
from jiedao.nat.tests.test_registration import close_item, open_item, sample_item, setup  # noqa: F401
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db


def test_the_lists_go_out_every_n_hours_while_the_round_is_under_way(
    cast: Any,
    setup: dict[str, Any],  # noqa: F811
) -> None:
    rnd = setup["round"]  # began 2 hours ago, ends in 10
    items = WorkItem.objects.filter(kind="nat.missing")
    assert next_missing_send(rnd) is None and do_send_due_missing_lists() == []  # by hand only
    do_set_missing_schedule(actor=cast["command"], rnd=rnd, every_hours=3)
    assert next_missing_send(rnd) == rnd.starts_at + dt.timedelta(hours=3)
    now = timezone.now()
    assert do_send_due_missing_lists(now) == [] and not items.exists()  # 3 h after the start is still ahead
    assert do_send_due_missing_lists(now + dt.timedelta(hours=1, minutes=1)) == [rnd.pk]
    rnd.refresh_from_db()
    assert (
        rnd.missing_sent_at is not None
        and items.get().title.endswith("12 residents not yet sampled") is False
    )
    assert items.count() == 1 and "12" in items.get().title
    # three people sampled; sent by hand meanwhile: the schedule counts from that send
    do_apply_registrations(
        actor=None, items=[open_item(setup, "SCHED00001"), *(sample_item(p, "SCHED00001") for p in setup["people"][:3]), close_item("SCHED00001")]
    )  # fmt: skip
    do_issue_missing_work_items(actor=cast["command"], rnd=rnd)
    rnd.refresh_from_db()
    assert "9" in items.get().title
    sent = rnd.missing_sent_at
    assert next_missing_send(rnd) == sent + dt.timedelta(hours=3)
    assert do_send_due_missing_lists(sent + dt.timedelta(hours=2, minutes=59)) == []
    assert jobs.send_missing_lists.call_local() == []  # the periodic job: nothing due now
    # near the end: the next send would fall after the round's end, so there is none
    rnd.ends_at = sent + dt.timedelta(hours=2)
    rnd.save(update_fields=["ends_at"])
    assert next_missing_send(rnd) is None
    assert do_send_due_missing_lists(sent + dt.timedelta(hours=1, minutes=59)) == []


def test_a_closed_round_sends_nothing_and_only_the_command_centre_sets_it(
    cast: Any,
    setup: dict[str, Any],  # noqa: F811
) -> None:
    rnd = setup["round"]
    with pytest.raises(Forbidden):
        do_set_missing_schedule(actor=cast["community_staff_a"], rnd=rnd, every_hours=2)
    for bad in (0, 5, 24, -1):
        with pytest.raises(InvalidInput) as err:
            do_set_missing_schedule(actor=cast["command"], rnd=rnd, every_hours=bad)
        assert err.value.field == "missing_every_hours"
    do_set_missing_schedule(actor=cast["command"], rnd=rnd, every_hours=1)
    entry = AuditEntry.objects.filter(action="nat.missing_schedule").get()
    assert entry.changes == {"missing_every_hours": [None, 1]}
    rnd.status = RoundStatus.CLOSED
    rnd.save(update_fields=["status"])
    assert next_missing_send(rnd) is None
    assert do_send_due_missing_lists(timezone.now() + dt.timedelta(hours=2)) == []
    assert not WorkItem.objects.filter(kind="nat.missing").exists()


def test_the_round_page_sets_the_schedule(cast: Any, setup: dict[str, Any], client: Any) -> None:  # noqa: F811
    rnd = setup["round"]
    client.force_login(cast["command"])
    resp = client.post(f"/nat/rounds/{rnd.pk}/missing-schedule", {"every": "4"}, follow=True)
    rnd.refresh_from_db()
    assert rnd.missing_every_hours == 4
    assert resp.status_code == 200 and b'data-testid="missing-next"' in resp.content
    resp = client.post(f"/nat/rounds/{rnd.pk}/missing-schedule", {"every": "5"}, follow=True)
    rnd.refresh_from_db()
    assert rnd.missing_every_hours == 4 and b"alert-danger" in resp.content
    client.post(f"/nat/rounds/{rnd.pk}/missing-schedule", {"every": ""})
    rnd.refresh_from_db()
    assert rnd.missing_every_hours is None
