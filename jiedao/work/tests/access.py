"""Access-matrix entries for work pages and the work API. Each `build` files an unassigned item for
grid workers in grid A1, so the A2 grid worker and B members must get 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from jiedao.core.testing import EVERY_ROLE, endpoint

OFFICE = {"command", "auditor", "community_staff_a", "community_staff_b"}
SEES_A1_ITEM = {"command", "auditor", "community_staff_a", "grid_worker_a"}
ACTS_ON_A1_ITEM = {"command", "community_staff_a", "grid_worker_a"}
SUPERVISES_A1_ITEM = {"command", "community_staff_a"}


def make_item(cast: Any, **kw: Any) -> Any:
    from jiedao.work.actions import do_create_work_item

    fields = {
        "kind": "test.visit", "title": "上门核实 3-2-301", "due_at": timezone.now() + dt.timedelta(hours=2),
        "community": cast.community_a, "grid": cast.grid_a1, "role": "grid_worker",
    }  # fmt: skip
    fields.update(kw)
    return do_create_work_item(actor=None, **fields)


def _path(suffix: str) -> Any:
    return lambda cast: f"/work/items/{make_item(cast).pk}/{suffix}"


endpoint("work:today", lambda cast: "/work/today/", EVERY_ROLE)
endpoint("work:list", lambda cast: "/work/", OFFICE)
endpoint("work:export", lambda cast: "/work/export.xlsx", OFFICE)
endpoint("work:item", _path(""), SEES_A1_ITEM)
endpoint("work:start", _path("start/"), ACTS_ON_A1_ITEM, method="post", ok=(302,))
endpoint(
    "work:complete", _path("complete/"), ACTS_ON_A1_ITEM, method="post",
    data=lambda cast: {"outcome": "已核实"}, ok=(302,),
)  # fmt: skip
endpoint(
    "work:cancel", _path("cancel/"), SUPERVISES_A1_ITEM, method="post",
    data=lambda cast: {"reason": "duplicate"}, ok=(302,),
)  # fmt: skip
endpoint(
    "work:reassign", _path("reassign/"), SUPERVISES_A1_ITEM, method="post",
    data=lambda cast: {"assignee": cast["grid_worker_a"].pk, "role": "grid_worker"}, ok=(302,),
)  # fmt: skip
endpoint("api:work_items", lambda cast: "/api/v1/work/items", EVERY_ROLE, api=True)
endpoint(
    "api:work_item_complete", lambda cast: f"/api/v1/work/items/{make_item(cast).pk}/complete",
    ACTS_ON_A1_ITEM, method="post", api=True, content_type="application/json",
    data=lambda cast: {"outcome": "已核实"},
)  # fmt: skip
