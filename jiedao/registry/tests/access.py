"""Access-matrix entries for the register's pages and API. Objects are built in community A, grid A1, so
the matrix proves that B's staff and the grid worker of A2 get 404 for them on pages and API alike."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from jiedao.core.testing import Cast, endpoint

READ_A = {"command", "auditor", "community_staff_a", "grid_worker_a", "doctor_a", "police_a", "volunteer_a"}
READ_ANY = READ_A | {
    "community_staff_b",
    "grid_worker_b",
    "doctor_b",
    "police_b",
    "volunteer_b",
    "grid_worker_a2",
}
EDIT_A = {"command", "community_staff_a", "grid_worker_a"}
EDIT_ANY = EDIT_A | {"community_staff_b", "grid_worker_b", "grid_worker_a2"}
UNMASK_A = EDIT_A | {"police_a"}
IMPORT_A = {"command", "community_staff_a"}
IMPORT_ANY = IMPORT_A | {"community_staff_b"}

CSV = "姓名,身份证号,手机号,小区,楼栋,单元,房号,与户主关系\n".encode()


def _household(cast: Cast) -> Any:
    from jiedao.registry.tests.factories import make_household

    return make_household(cast.community_a, cast.grid_a1, members=2)


def _person_id(cast: Cast) -> int:
    from jiedao.registry.models import Resident

    hh = _household(cast)
    return Resident.objects.filter(household=hh).values_list("person_id", flat=True).first()  # type: ignore[return-value]


def _resident_id(cast: Cast) -> int:
    from jiedao.registry.models import Resident

    hh = _household(cast)
    return Resident.objects.filter(household=hh).order_by("-pk").values_list("pk", flat=True).first()  # type: ignore[return-value]


def import_csv() -> bytes:
    from jiedao.registry.tests.factories import mobile, person_name, resident_id

    rows = [
        f"{person_name()},{resident_id()},{mobile()},矩阵小区,1,1,101,户主",
        f"{person_name()},{resident_id()},{mobile()},矩阵小区,1,1,101,配偶",
    ]
    return CSV + "\n".join(rows).encode() + b"\n"


def _batch(cast: Cast) -> int:
    from jiedao.registry.importer import stage_upload

    batch = stage_upload(
        actor=cast["command"], community=cast.community_a, filename="matrix.csv", data=import_csv()
    )
    return batch.pk


def _new_resident(cast: Cast) -> dict[str, Any]:
    from jiedao.registry.tests.factories import person_name, resident_id

    return {"name": person_name(), "id_type": "resident_id", "id_number": resident_id(), "relation": "child"}


def _new_household(cast: Cast) -> dict[str, Any]:
    return {
        "community": cast.community_a.pk, "grid": cast.grid_a1.pk, "compound": "矩阵新苑", "building": "2",
        "entrance": "1", "flat": "301", "status": "living",
    }  # fmt: skip


def _upload(cast: Cast) -> dict[str, Any]:
    return {"community": cast.community_a.pk, "file": SimpleUploadedFile("upload.csv", import_csv())}


# Pages without an object: every register role, in A and in B.
endpoint("registry:search", lambda cast: "/registry/search/?q=x", READ_ANY)
endpoint("registry:households", lambda cast: "/registry/households/", READ_ANY)
endpoint("registry:households_export", lambda cast: "/registry/households/export/", READ_ANY)
endpoint("registry:persons", lambda cast: "/registry/persons/", READ_ANY)
endpoint("registry:persons_export", lambda cast: "/registry/persons/export/", READ_ANY)
endpoint("registry:household_add", lambda cast: "/registry/households/add/", EDIT_ANY)
endpoint(
    "registry:household_add", lambda cast: "/registry/households/add/", EDIT_A, method="post",
    data=_new_household, ok=(302,),
)  # fmt: skip

# One household / person / resident in grid A1.
endpoint("registry:household", lambda cast: f"/registry/households/{_household(cast).pk}/", READ_A)
endpoint(
    "registry:resident_add", lambda cast: f"/registry/households/{_household(cast).pk}/residents/add/", EDIT_A
)
endpoint(
    "registry:resident_add", lambda cast: f"/registry/households/{_household(cast).pk}/residents/add/", EDIT_A,
    method="post", data=_new_resident, ok=(302,),
)  # fmt: skip
endpoint(
    "registry:resident_move_out", lambda cast: f"/registry/residents/{_resident_id(cast)}/move-out/", EDIT_A
)
endpoint(
    "registry:resident_move_out", lambda cast: f"/registry/residents/{_resident_id(cast)}/move-out/", EDIT_A,
    method="post", data=lambda cast: {"reason": "搬走"}, ok=(302,),
)  # fmt: skip
endpoint("registry:person", lambda cast: f"/registry/persons/{_person_id(cast)}/", READ_A)
endpoint("registry:person_edit", lambda cast: f"/registry/persons/{_person_id(cast)}/edit/", EDIT_A)
endpoint(
    "registry:person_edit", lambda cast: f"/registry/persons/{_person_id(cast)}/edit/", EDIT_A, method="post",
    data=lambda cast: {"name": "改名", "id_type": "resident_id", "notes": "", "reason": "更正"}, ok=(302,),
)  # fmt: skip
endpoint("registry:person_care_tags", lambda cast: f"/registry/persons/{_person_id(cast)}/care-tags/", EDIT_A)
endpoint(
    "registry:person_care_tags", lambda cast: f"/registry/persons/{_person_id(cast)}/care-tags/", EDIT_A,
    method="post", data=lambda cast: {"care_tags": ["bedridden"]}, ok=(302,),
)  # fmt: skip
endpoint("registry:person_unmask", lambda cast: f"/registry/persons/{_person_id(cast)}/unmask/", UNMASK_A)
endpoint(
    "registry:person_unmask", lambda cast: f"/registry/persons/{_person_id(cast)}/unmask/", UNMASK_A,
    method="post", data=lambda cast: {"reason": "上门核实身份"},
)  # fmt: skip

# Import: command and community staff.
endpoint("registry:import", lambda cast: "/registry/import/", IMPORT_ANY)
endpoint(
    "registry:import", lambda cast: "/registry/import/", IMPORT_A, method="post", data=_upload, ok=(302,)
)
endpoint("registry:import_template", lambda cast: "/registry/import/template.xlsx", IMPORT_ANY)
endpoint("registry:import_batch", lambda cast: f"/registry/import/{_batch(cast)}/", IMPORT_A)
endpoint(
    "registry:import_check", lambda cast: f"/registry/import/{_batch(cast)}/check/", IMPORT_A, method="post"
)
endpoint(
    "registry:import_commit", lambda cast: f"/registry/import/{_batch(cast)}/commit/", IMPORT_A, method="post",
    ok=(302,),
)  # fmt: skip

# API
endpoint("api:registry_persons", lambda cast: "/api/v1/registry/persons?q=x", READ_ANY, api=True)
endpoint("api:registry_person", lambda cast: f"/api/v1/registry/persons/{_person_id(cast)}", READ_A, api=True)
endpoint("api:registry_households", lambda cast: "/api/v1/registry/households", READ_ANY, api=True)
endpoint(
    "api:registry_household",
    lambda cast: f"/api/v1/registry/households/{_household(cast).pk}",
    READ_A,
    api=True,
)
