"""Access-matrix entries for control's pages. The case is built in community A, grid A1 from a verified
key person there, so B's staff and the grid worker of A2 get 404 for it, and volunteers (no health
data) get 403 everywhere."""

from __future__ import annotations

import itertools
from typing import Any

from jiedao.core.testing import Cast, endpoint, public

READ_A = {"command", "auditor", "community_staff_a", "grid_worker_a", "doctor_a", "police_a"}
READ_ANY = READ_A | {"community_staff_b", "grid_worker_b", "doctor_b", "police_b", "grid_worker_a2"}
MANAGE_A = {"command", "community_staff_a"}
MANAGE_ANY = MANAGE_A | {"community_staff_b"}
_n = itertools.count(1)


def classified_a1(cast: Cast) -> Any:
    from jiedao.screening.actions import do_verify_key_person
    from jiedao.screening.tests.access import key_person_a1

    kp = key_person_a1(cast)
    do_verify_key_person(actor=None, kp=kp, outcome="reached_in_area", category="close_contact")
    kp.refresh_from_db()
    return kp


def case_a1(cast: Cast) -> Any:
    from jiedao.control.actions import do_open_case

    return do_open_case(actor=None, key_person=classified_a1(cast))


endpoint("control:cases", lambda cast: "/control/", READ_ANY)
endpoint("control:to_open", lambda cast: "/control/to-open/", MANAGE_ANY)
endpoint(
    "control:open", lambda cast: f"/control/open/{classified_a1(cast).pk}", MANAGE_A, method="post", ok=(302,)
)
endpoint("control:case", lambda cast: f"/control/cases/{case_a1(cast).pk}/", READ_A)
endpoint(
    "control:start", lambda cast: f"/control/cases/{case_a1(cast).pk}/start", MANAGE_A, method="post",
    data=lambda cast: {"basis": "已到达隔离点"}, ok=(302,),
)  # fmt: skip
endpoint(
    "control:cancel", lambda cast: f"/control/cases/{case_a1(cast).pk}/cancel", MANAGE_A, method="post",
    data=lambda cast: {"basis": "误开"}, ok=(302,),
)  # fmt: skip
endpoint("control:measure", lambda cast: f"/control/cases/{case_a1(cast).pk}/measure", MANAGE_A)
endpoint(
    "control:measure", lambda cast: f"/control/cases/{case_a1(cast).pk}/measure", MANAGE_A, method="post",
    data=lambda cast: {"category": "secondary_contact", "basis": "复核"},
)  # fmt: skip


def released_a1(cast: Cast) -> Any:
    from jiedao.control.actions import do_release_case, do_start_case
    from jiedao.control.tests.helpers import pass_tests

    case = do_start_case(actor=None, case=case_a1(cast), basis="到达")
    pass_tests(case, today=case.end_date)
    return do_release_case(actor=None, case=case, basis="阴性", today=case.end_date)


def ended_a1(cast: Cast) -> Any:
    """An active case whose last day has come, its tests negative."""
    from jiedao.control.actions import do_start_case
    from jiedao.control.tests.helpers import end_today, pass_tests

    case = end_today(do_start_case(actor=None, case=case_a1(cast), basis="到达"))
    pass_tests(case)
    return case


endpoint(
    "control:release", lambda cast: f"/control/cases/{ended_a1(cast).pk}/release", MANAGE_A, method="post",
    data=lambda cast: {"basis": "核酸阴性"}, ok=(302,),
)  # fmt: skip
endpoint("control:notice", lambda cast: f"/control/cases/{released_a1(cast).pk}/notice", READ_A)
endpoint(
    "control:team", lambda cast: f"/control/cases/{case_a1(cast).pk}/team", MANAGE_A, method="post",
    data=lambda cast: {"doctor": cast["doctor_a"].pk}, ok=(302,),
)  # fmt: skip
endpoint("control:cases_export", lambda cast: "/control/export", READ_ANY)
CHECKIN_A = MANAGE_A | {"grid_worker_a", "doctor_a"}
endpoint(
    "control:checkin", lambda cast: f"/control/cases/{case_a1(cast).pk}/checkin", CHECKIN_A, method="post",
    data=lambda cast: {"temperature": "36.5"}, ok=(302,),
)  # fmt: skip
endpoint(
    "control:link", lambda cast: f"/control/cases/{case_a1(cast).pk}/link", MANAGE_A, method="post", ok=(302,)
)
# The personal check-in link needs no account: its token is the key (tests in test_checkins.py).
public("checkin:form")

# The transfer and care pages register their entries in their own modules.
from jiedao.control.tests import access_care, access_transfers  # noqa: E402, F401
