"""Access-matrix entries for place pages and the places API. Each `build` files a place in
community A, grid A1 (as the system), so B members and the A2 grid worker must get 404."""

from __future__ import annotations

from typing import Any

from jiedao.core.testing import endpoint, public

# The public page a scanned venue code opens: no sign-in; GET shows only the venue's name and kind and
# the check-in form, POST records a check-in (tests in test_checkins.py).
public("venue:landing")

VIEWERS = {
    "command", "auditor", "grid_worker_a2",
    *(f"{r}_{s}" for r in ("community_staff", "grid_worker", "inspector", "pharmacy_clerk",
                           "enterprise_liaison") for s in ("a", "b")),
}  # fmt: skip
VIEWERS_A = {"command", "auditor", "community_staff_a", "grid_worker_a", "inspector_a", "pharmacy_clerk_a",
             "enterprise_liaison_a"}  # fmt: skip
EDITORS = {
    "command",
    "community_staff_a",
    "community_staff_b",
    "grid_worker_a",
    "grid_worker_b",
    "grid_worker_a2",
}
EDITORS_A = {"command", "community_staff_a", "grid_worker_a"}
DEACTIVATORS_A = {"command", "community_staff_a"}
REVEALERS_A = VIEWERS_A - {"auditor"}


def make_place(cast: Any, *, active: bool = True, **kw: Any) -> Any:
    from jiedao.places.actions import do_create_place, do_deactivate_place

    fields = {
        "kind": "pharmacy", "name": "甲一大药房", "address": "龙河路 1 号", "contact_name": "王店长",
        "contact_phone": "13800138000", "community": cast.community_a, "grid": cast.grid_a1,
    }  # fmt: skip
    fields.update(kw)
    place = do_create_place(actor=None, **fields)
    if not active:
        do_deactivate_place(actor=None, place=place, reason="closed")
    return place


def _path(suffix: str, **kw: Any) -> Any:
    return lambda cast: f"/places/{make_place(cast, **kw).pk}/{suffix}"


def _edit_data(cast: Any) -> dict[str, Any]:
    return {"kind": "pharmacy", "name": "甲一大药房（新）", "address": "龙河路 2 号",
            "community": cast.community_a.pk, "grid": cast.grid_a1.pk}  # fmt: skip


endpoint("places:list", lambda cast: "/places/", VIEWERS)
endpoint("places:export", lambda cast: "/places/export.xlsx", VIEWERS)
endpoint("places:create", lambda cast: "/places/new/", EDITORS)
endpoint("places:detail", _path(""), VIEWERS_A)
endpoint("places:poster", _path("poster/"), VIEWERS_A)
endpoint("places:qr", _path("qr.svg"), VIEWERS_A)
endpoint("places:edit", _path("edit/"), EDITORS_A)
endpoint("places:edit", _path("edit/"), EDITORS_A, method="post", data=_edit_data, ok=(302,))
endpoint("places:deactivate", _path("deactivate/"), DEACTIVATORS_A)
endpoint(
    "places:deactivate", _path("deactivate/"), DEACTIVATORS_A, method="post",
    data=lambda cast: {"reason": "moved away"}, ok=(302,),
)  # fmt: skip
endpoint("places:reactivate", _path("reactivate/", active=False), DEACTIVATORS_A, method="post", ok=(302,))
endpoint(
    "places:reveal_contact", _path("contact/"), REVEALERS_A, method="post",
    data=lambda cast: {"reason": "call about the inspection"},
)  # fmt: skip
endpoint("api:places_list", lambda cast: "/api/v1/places/", VIEWERS, api=True)
endpoint("api:places_detail", lambda cast: f"/api/v1/places/{make_place(cast).pk}", VIEWERS_A, api=True)
