"""The control part of the Huayang demo: the verified key persons of the demo's week of lists whose
measure is still running are put under control through the control actions — most of them started
(with the basis an office would write), the newest still pending — so the case ledger, the waiting list
and the schedules show days 1 to 10 of real measures."""

from __future__ import annotations

import random
import time

from django.db.models import Count
from django.utils import timezone

from jiedao.control.actions import do_open_case, do_set_care_team, do_start_case
from jiedao.control.choices import CaseStatus
from jiedao.control.models import ControlCase
from jiedao.control.queries import waiting_for_a_case
from jiedao.control.teams import candidates, missing, needs_team, slots
from jiedao.core import audit
from jiedao.demo.state import BuildState
from jiedao.org.models import User

# Left for the office to open by hand, so the waiting list is not empty in the demo.
LEAVE_WAITING = 0.08
STAY_PENDING = 0.12
BASIS = {
    "CENTRAL_QUARANTINE": "已闭环转运至集中隔离点",
    "HOME_QUARANTINE": "五包一到位，已落实居家隔离",
    "TWO_IN_THREE": "已告知三天两检要求",
}


def build_control(state: BuildState) -> None:
    started = time.perf_counter()
    rng = random.Random(state.seed * 7 + 4)
    command = User.objects.get(username="command")
    waiting = list(waiting_for_a_case(command).order_by("verified_at", "pk"))
    for kp in waiting:
        if rng.random() < LEAVE_WAITING:
            continue
        case = do_open_case(actor=command, key_person=kp)
        if needs_team(case):
            team = {slot: candidates(case, slot).first() for slot in slots()}
            do_set_care_team(actor=command, case=case, members=team)
            if missing(case):
                continue  # an area without, say, a police liaison: the case waits for its team
        if rng.random() >= STAY_PENDING and case.start_date <= timezone.localdate():
            do_start_case(actor=command, case=case, basis=BASIS.get(case.measure_type, "已落实管控措施"))
    statuses = dict(
        ControlCase.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    counts = {
        "control_cases": sum(statuses.values()),
        "control_active": statuses.get(CaseStatus.ACTIVE, 0),
        "control_pending": statuses.get(CaseStatus.PENDING, 0),
        "control_waiting": waiting_for_a_case(command).count(),
    }
    state.counts.update(counts)
    audit.record(actor=None, action="demo.build_control", changes=counts)
    state.say(
        "control",
        f"{counts['control_cases']:,} control cases ({counts['control_active']:,} under the measure, "
        f"{counts['control_pending']:,} pending), {counts['control_waiting']:,} waiting for a case",
        started,
    )
