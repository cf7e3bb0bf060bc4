"""Access-matrix entries for the quarantine-site and transfer pages. Sites are subdistrict-wide (every
reader sees them, only the command centre manages them); a transfer is scoped like its case, built in
community A, grid A1, so B's staff and the grid worker of A2 get 404 for it and volunteers 403."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from jiedao.control.tests.access import MANAGE_A, READ_A, READ_ANY, case_a1
from jiedao.core.testing import Cast, endpoint

TRANSFER_A = MANAGE_A | {"grid_worker_a", "police_a"}
_n = itertools.count(1)


def site(cast: Cast) -> Any:
    from jiedao.control.actions import do_save_site

    return do_save_site(actor=None, name=f"矩阵隔离点{next(_n)}", address="红星路 1 号", capacity=20)


def transfer_a1(cast: Cast) -> Any:
    """A planned transfer of a pending centralised quarantine in grid A1."""
    from django.utils import timezone

    from jiedao.control.actions import do_plan_transfer

    return do_plan_transfer(
        actor=None, case=case_a1(cast), site=site(cast), team="张伟", vehicle="川A12345",
        pickup_at=timezone.now() + dt.timedelta(hours=1),
    )  # fmt: skip


def _site_data(cast: Cast) -> dict[str, Any]:
    return {"name": "矩阵新隔离点", "address": "红星路 2 号", "capacity": "30", "status": "open"}


def _plan_data(cast: Cast) -> dict[str, Any]:
    from django.utils import timezone

    from jiedao.control.models import QuarantineSite

    s = QuarantineSite.objects.order_by("-pk").first()
    pickup = timezone.localtime() + dt.timedelta(hours=1)
    return {
        "site": s.pk if s else "",
        "team": "张伟",
        "vehicle": "川A12345",
        "pickup_at": f"{pickup:%Y-%m-%dT%H:%M}",
    }


def _plan_url(cast: Cast) -> str:
    site(cast)
    return f"/control/cases/{case_a1(cast).pk}/transfer"


endpoint("control:sites", lambda cast: "/control/sites/", READ_ANY)
endpoint("control:site_add", lambda cast: "/control/sites/add", {"command"})
endpoint(
    "control:site_add",
    lambda cast: "/control/sites/add",
    {"command"},
    method="post",
    data=_site_data,
    ok=(302,),
)
endpoint("control:site_edit", lambda cast: f"/control/sites/{site(cast).pk}/edit", {"command"})
endpoint(
    "control:site_edit", lambda cast: f"/control/sites/{site(cast).pk}/edit", {"command"}, method="post",
    data=_site_data, ok=(302,),
)  # fmt: skip
endpoint("control:plan_transfer", _plan_url, MANAGE_A, method="post", data=_plan_data, ok=(302,))
endpoint("control:transfers", lambda cast: "/control/transfers/", READ_ANY)
endpoint("control:transfers_export", lambda cast: "/control/transfers/export", READ_ANY)
endpoint("control:transfer", lambda cast: f"/control/transfers/{transfer_a1(cast).pk}/", READ_A)
endpoint(
    "control:transfer_step", lambda cast: f"/control/transfers/{transfer_a1(cast).pk}/step", TRANSFER_A,
    method="post", data=lambda cast: {"step": "picked_up"}, ok=(302,),
)  # fmt: skip
endpoint(
    "control:transfer_cancel", lambda cast: f"/control/transfers/{transfer_a1(cast).pk}/cancel", MANAGE_A,
    method="post", data=lambda cast: {"reason": "车辆故障"}, ok=(302,),
)  # fmt: skip
