"""Access-matrix entries for the tests, supplies, doctor's list and report pages. The case is in community
A, grid A1; its request is unassigned (a close contact has no care team), so anyone serving grid A1 may
deliver it."""

from __future__ import annotations

from typing import Any

from jiedao.control.tests.access import CHECKIN_A, MANAGE_A, READ_ANY, case_a1
from jiedao.core.testing import Cast, endpoint


def active_a1(cast: Cast) -> Any:
    from jiedao.control.actions import do_start_case

    return do_start_case(actor=None, case=case_a1(cast), basis="已到达隔离点")


def supply_a1(cast: Cast) -> Any:
    from jiedao.control.actions import do_request_supply

    return do_request_supply(actor=None, case=active_a1(cast), kind="food", detail="大米")


SUPPLY_A = {"command", "auditor", "community_staff_a", "grid_worker_a", "doctor_a", "volunteer_a"}
SERVE_A = SUPPLY_A - {"auditor"}
SUPPLY_ANY = SUPPLY_A | {"community_staff_b", "grid_worker_b", "grid_worker_a2", "doctor_b", "volunteer_b"}
ATTENTION_ANY = READ_ANY - {"police_a", "police_b"}

endpoint(
    "control:test", lambda cast: f"/control/cases/{active_a1(cast).pk}/test", CHECKIN_A, method="post",
    data=lambda cast: {"test_date": active_a1_start(cast), "result": "negative"}, ok=(302,),
)  # fmt: skip
endpoint(
    "control:supply_request", lambda cast: f"/control/cases/{active_a1(cast).pk}/supply", CHECKIN_A, method="post",
    data=lambda cast: {"kind": "food", "detail": "蔬菜"}, ok=(302,),
)  # fmt: skip
endpoint("control:supplies", lambda cast: "/control/supplies/", SUPPLY_ANY)
endpoint("control:supplies_export", lambda cast: "/control/supplies/export", SUPPLY_ANY)
endpoint("control:supply", lambda cast: f"/control/supplies/{supply_a1(cast).pk}/", SUPPLY_A)
endpoint(
    "control:supply_deliver", lambda cast: f"/control/supplies/{supply_a1(cast).pk}/deliver", SERVE_A,
    method="post", data=lambda cast: {"outcome": "已送达"}, ok=(302,),
)  # fmt: skip
endpoint(
    "control:supply_hold", lambda cast: f"/control/supplies/{supply_a1(cast).pk}/hold", SERVE_A,
    method="post", data=lambda cast: {"reason": "缺货"}, ok=(302,),
)  # fmt: skip
endpoint(
    "control:supply_assign", lambda cast: f"/control/supplies/{supply_a1(cast).pk}/assign", MANAGE_A,
    method="post", data=lambda cast: {"assignee": cast["volunteer_a"].pk}, ok=(302,),
)  # fmt: skip
endpoint("control:attention", lambda cast: "/control/attention/", ATTENTION_ANY)
endpoint("control:report", lambda cast: "/control/report/", READ_ANY)
endpoint("control:report_export", lambda cast: "/control/report/export", READ_ANY)


def active_a1_start(cast: Cast) -> str:
    from django.utils import timezone

    return timezone.localdate().isoformat()
