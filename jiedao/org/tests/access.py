"""Access-matrix entries for the organisation pages. Targets sit in community A (grid A1), so community
staff of B must get 404 where community staff of A get through; roles that manage nobody get 403."""

from __future__ import annotations

from typing import Any

from jiedao.core.testing import Cast, endpoint
from jiedao.org import actions
from jiedao.org.choices import Role, UnitLevel

MANAGERS = {"command", "community_staff_a", "community_staff_b"}
MANAGERS_A = {"command", "community_staff_a"}
COMMAND = {"command"}
PASSWORD = "matrix-pass-2022"


def staff_in_a(cast: Cast) -> Any:
    """A grid worker whose only role is in grid A1 of community A."""
    return actions.do_create_staff(
        actor=None, username="matrix-a1", display_name="甲一网格员", password=PASSWORD,
        role=Role.GRID_WORKER, level=UnitLevel.GRID, grid=cast.grid_a1,
    )  # fmt: skip


def _staff_url(suffix: str) -> Any:
    return lambda cast: f"/staff/{staff_in_a(cast).pk}/{suffix}"


def _revoke_url(cast: Cast) -> str:
    user = staff_in_a(cast)
    return f"/staff/{user.pk}/roles/{user.assignments.get().pk}/revoke/"


def _key_url(suffix: str) -> Any:
    def build(cast: Cast) -> str:
        key, _raw = actions.do_create_service_key(
            actor=None, name="matrix key", role=Role.GRID_WORKER, level=UnitLevel.GRID, grid=cast.grid_a1,
            permissions=["registry.read"],
        )  # fmt: skip
        return f"/api-keys/{key.pk}/{suffix}"

    return build


def _group_url(cast: Cast) -> str:
    group = actions.do_create_working_group(actor=None, name="综合协调组", duties="统筹协调")
    return f"/working-groups/{group.pk}/"


def _new_staff(cast: Cast) -> dict[str, Any]:
    return {
        "username": "matrix-new", "display_name": "新人", "work_phone": "13800138000",
        "password": PASSWORD, "password2": PASSWORD, "role": Role.VOLUNTEER, "unit": f"grid:{cast.grid_a1.pk}",
    }  # fmt: skip


endpoint("org:staff", lambda cast: "/staff/", MANAGERS)
endpoint("org:staff_export", lambda cast: "/staff/export.xlsx", MANAGERS)
endpoint("org:staff_new", lambda cast: "/staff/new/", MANAGERS)
endpoint("org:staff_new", lambda cast: "/staff/new/", MANAGERS_A, method="post", data=_new_staff, ok=(302,))
endpoint("org:staff_detail", _staff_url(""), MANAGERS_A)
endpoint("org:staff_add_role", _staff_url("roles/add/"), MANAGERS_A)
endpoint(
    "org:staff_add_role", _staff_url("roles/add/"), MANAGERS_A, method="post", ok=(302,),
    data=lambda cast: {"role": Role.VOLUNTEER, "unit": f"grid:{cast.grid_a2.pk}", "reason": "matrix"},
)  # fmt: skip
endpoint("org:staff_revoke_role", _revoke_url, MANAGERS_A)
endpoint("org:staff_revoke_role", _revoke_url, MANAGERS_A, method="post", data=lambda cast: {}, ok=(302,))
endpoint("org:staff_active", _staff_url("active/"), MANAGERS_A)
endpoint(
    "org:staff_active", _staff_url("active/"), MANAGERS_A, method="post", ok=(302,),
    data=lambda cast: {"active": "0", "reason": "matrix"},
)  # fmt: skip
endpoint("org:staff_password", _staff_url("password/"), MANAGERS_A)
endpoint(
    "org:staff_password", _staff_url("password/"), MANAGERS_A, method="post", ok=(302,),
    data=lambda cast: {"password": "another-pass-9", "password2": "another-pass-9"},
)  # fmt: skip

endpoint("org:api_keys", lambda cast: "/api-keys/", COMMAND)
endpoint("org:api_key_new", lambda cast: "/api-keys/new/", COMMAND)
endpoint(
    "org:api_key_new", lambda cast: "/api-keys/new/", COMMAND, method="post",
    data=lambda cast: {"name": "matrix", "role": Role.GRID_WORKER, "unit": f"grid:{cast.grid_a1.pk}",
                       "permissions": ["registry.read"]},
)  # fmt: skip
endpoint("org:api_key_revoke", _key_url("revoke/"), COMMAND)
endpoint("org:api_key_revoke", _key_url("revoke/"), COMMAND, method="post", data=lambda cast: {}, ok=(302,))

endpoint("org:working_groups", lambda cast: "/working-groups/", COMMAND)
endpoint("org:working_group_new", lambda cast: "/working-groups/new/", COMMAND)
endpoint(
    "org:working_group_new", lambda cast: "/working-groups/new/", COMMAND, method="post", ok=(302,),
    data=lambda cast: {"name": "物资保障组", "position": 3, "duties": "生活物资", "lead": cast["command"].pk},
)  # fmt: skip
endpoint("org:working_group_edit", _group_url, COMMAND)
endpoint(
    "org:working_group_edit", _group_url, COMMAND, method="post", ok=(302,),
    data=lambda cast: {"name": "综合协调组", "position": 1, "duties": "统筹协调、信息汇总"},
)  # fmt: skip
