"""Access-matrix entries for screening's pages and API. A key person is built in community A, grid A1
(pushed by the command centre and routed by the household of a resident there), so B's staff and the
grid worker of A2 must get 404 for it; pushed lists are the subdistrict's: only the command centre and
auditors read them, only the command centre pushes."""

from __future__ import annotations

import itertools
from typing import Any

from jiedao.core.testing import Cast, endpoint

# Roles that see key persons in their area (screening.queries.READ_ROLES), in A and in B.
KP_READ_A = {"command", "auditor", "community_staff_a", "grid_worker_a", "police_a", "doctor_a"}
KP_READ_ANY = KP_READ_A | {"community_staff_b", "grid_worker_b", "police_b", "doctor_b", "grid_worker_a2"}
LIST_READERS = {"command", "auditor"}
PUSHERS = {"command"}

_keys = itertools.count(1)


def api_list(cast: Cast, key: str | None = None) -> Any:
    """A list opened through the API by the command centre."""
    from jiedao.screening.actions import check_list_meta, do_open_list

    meta = check_list_meta(title="协查名单", issuer="市疫情防控指挥部", source="close_contact")
    return do_open_list(actor=cast["command"], client_key=key or f"matrix-list-{next(_keys)}", meta=meta)[0]


def key_person_a1(cast: Cast) -> Any:
    """A key person routed to grid A1 by the household of a resident pushed in an API list."""
    from jiedao.registry.models import Resident
    from jiedao.registry.tests.factories import make_household
    from jiedao.screening.actions import do_push_entries
    from jiedao.screening.models import KeyPerson

    hh = make_household(cast.community_a, cast.grid_a1, members=1)
    person = Resident.objects.filter(household=hh).select_related("person").get().person
    result = do_push_entries(
        actor=cast["command"], plist=api_list(cast),
        entries=[{"key": f"matrix-entry-{next(_keys)}", "name": person.name, "id_number": person.id_number}],
    )  # fmt: skip
    return KeyPerson.objects.get(pk=result.entries[0]["key_person_id"])


def _new_list(cast: Cast) -> dict[str, Any]:
    return {"key": "matrix-new-list", "title": "红码名单", "issuer": "市大数据中心", "source": "red_code"}


def _new_entries(cast: Cast) -> dict[str, Any]:
    from jiedao.registry.tests.factories import resident_id

    return {"entries": [{"key": "matrix-new-entry", "name": "赵六", "id_number": resident_id()}]}


# ---- API
endpoint(
    "api:screening_list_open", lambda cast: "/api/v1/screening/lists", PUSHERS, method="post", api=True,
    data=_new_list, content_type="application/json", ok=(201,),
)  # fmt: skip
endpoint(
    "api:screening_list_entries", lambda cast: f"/api/v1/screening/lists/{api_list(cast).pk}/entries", PUSHERS,
    method="post", api=True, data=_new_entries, content_type="application/json", ok=(201,),
)  # fmt: skip
endpoint(
    "api:screening_list", lambda cast: f"/api/v1/screening/lists/{key_person_a1(cast).entries.get().pushed_list_id}",
    LIST_READERS, api=True,
)  # fmt: skip
endpoint(
    "api:screening_list_results",
    lambda cast: f"/api/v1/screening/lists/{key_person_a1(cast).entries.get().pushed_list_id}/results",
    LIST_READERS, api=True,
)  # fmt: skip
endpoint("api:screening_key_persons", lambda cast: "/api/v1/screening/key-persons", KP_READ_ANY, api=True)
endpoint(
    "api:screening_key_person", lambda cast: f"/api/v1/screening/key-persons/{key_person_a1(cast).pk}",
    KP_READ_A, api=True,
)  # fmt: skip


# ---- pages
VERIFY_A = {"command", "community_staff_a", "grid_worker_a"}
PUSHED_CSV = "姓名,身份证号,手机号,风险类别\n"


def _pushed_csv() -> bytes:
    from jiedao.registry.tests.factories import mobile, person_name, resident_id

    return (PUSHED_CSV + f"{person_name()},{resident_id()},{mobile()},密接\n").encode()


def _staged(cast: Cast) -> int:
    from jiedao.screening.actions import check_list_meta, do_stage_list

    meta = check_list_meta(title="矩阵名单", issuer="市疫情防控指挥部", source="close_contact")
    return do_stage_list(actor=cast["command"], meta=meta, filename="matrix.csv", data=_pushed_csv()).pk


def _list_id(cast: Cast) -> int:
    return key_person_a1(cast).entries.get().pushed_list_id


def _upload(cast: Cast) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {
        "title": "矩阵上传", "issuer": "市疫情防控指挥部", "source": "close_contact", "category": "",
        "file": SimpleUploadedFile("upload.csv", _pushed_csv()),
    }  # fmt: skip


endpoint("screening:key_persons", lambda cast: "/screening/", KP_READ_ANY)
endpoint("screening:key_persons_export", lambda cast: "/screening/export", KP_READ_ANY)
endpoint("screening:dispatch", lambda cast: "/screening/dispatch/", PUSHERS)
endpoint("screening:key_person", lambda cast: f"/screening/key-persons/{key_person_a1(cast).pk}/", KP_READ_A)
endpoint("screening:verify", lambda cast: f"/screening/key-persons/{key_person_a1(cast).pk}/verify", VERIFY_A)
endpoint(
    "screening:verify", lambda cast: f"/screening/key-persons/{key_person_a1(cast).pk}/verify", VERIFY_A,
    method="post", data=lambda cast: {"outcome": "unreachable", "attempts": 2}, ok=(302,),
)  # fmt: skip
endpoint(
    "screening:proposal", lambda cast: f"/screening/key-persons/{key_person_a1(cast).pk}/proposal", VERIFY_A
)
endpoint(
    "screening:route", lambda cast: f"/screening/key-persons/{key_person_a1(cast).pk}/route", PUSHERS,
    method="post", data=lambda cast: {"community": cast.community_b.pk}, ok=(302,),
)  # fmt: skip
endpoint(
    "screening:hand_back", lambda cast: f"/screening/key-persons/{key_person_a1(cast).pk}/hand-back",
    {"command", "community_staff_a"},
    method="post", data=lambda cast: {"reason": "不是本社区的"}, ok=(302,),
)  # fmt: skip
endpoint(
    "screening:match", lambda cast: f"/screening/key-persons/{key_person_a1(cast).pk}/match", VERIFY_A,
    method="post", data=lambda cast: {"dismiss": "1"}, ok=(302,),
)  # fmt: skip
endpoint("screening:lists", lambda cast: "/screening/lists/", LIST_READERS)
endpoint("screening:list_new", lambda cast: "/screening/lists/new", PUSHERS)
endpoint(
    "screening:list_new", lambda cast: "/screening/lists/new", PUSHERS, method="post", data=_upload, ok=(302,)
)
endpoint("screening:list_staged", lambda cast: f"/screening/lists/staged/{_staged(cast)}/", PUSHERS)
endpoint(
    "screening:list_staged", lambda cast: f"/screening/lists/staged/{_staged(cast)}/", PUSHERS, method="post",
    ok=(302,),
)  # fmt: skip
endpoint("screening:list", lambda cast: f"/screening/lists/{_list_id(cast)}/", LIST_READERS)
endpoint("screening:list_results", lambda cast: f"/screening/lists/{_list_id(cast)}/results", LIST_READERS)
