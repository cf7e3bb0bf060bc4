"""Access-matrix entries for testing. A sampling site in community A, grid A1, with sampler_a on its
staff and a round under way. The public site map and site list need no sign-in; the site page is its
staff's and its community office's (B's office and sampler get 404); registering needs a registering
role (samplers, offices): others get 403, a site that is not yours is 404 for a single item."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from jiedao.core.testing import Cast, endpoint, public

SITE_A = {"command", "community_staff_a", "sampler_a"}
REGISTRARS = {"command", "community_staff_a", "community_staff_b", "sampler_a", "sampler_b"}
# samplers of the grid A2 cast member do not exist; every sampler or office reaches "my sites"
MY_SITES = {"command", "community_staff_a", "community_staff_b", "sampler_a", "sampler_b"}


def site_a1(cast: Cast) -> Any:
    from jiedao.nat.actions import do_open_round, do_save_site
    from jiedao.nat.models import SamplingSite

    existing = SamplingSite.objects.filter(name="甲一采样点").first()
    if existing is not None:  # the URL and the POST body both need it
        return existing
    site = do_save_site(actor=None, name="甲一采样点", community=cast.community_a, grid=cast.grid_a1)
    site.staff.add(cast["sampler_a"])
    now = timezone.now()
    do_open_round(
        actor=None, name="全员核酸", starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=8),
        sites=[site],
    )  # fmt: skip
    return site


def _open(cast: Cast) -> dict[str, Any]:
    from jiedao.nat.models import TestingRound

    site = TestingRound.objects.get().sites.get()
    return {
        "key": "access-open-1", "op": "open_tube", "barcode": "ACCESS0001", "capacity": 10,
        "round": TestingRound.objects.get().pk, "site": site.pk, "at": timezone.now().isoformat(),
    }  # fmt: skip


public("nat:public_sites", "api:nat_sites", "nat:service_worker")
endpoint("nat:my_sites", lambda cast: "/nat/my-sites/", MY_SITES, ok=(200, 302))
endpoint("nat:site", lambda cast: f"/nat/my-sites/{site_a1(cast).pk}/", SITE_A)
endpoint("nat:sampler", lambda cast: (site_a1(cast), "/nat/sample/")[1], MY_SITES)
endpoint(
    "nat:site", lambda cast: f"/nat/my-sites/{site_a1(cast).pk}/", SITE_A, method="post",
    data=lambda cast: {"status": "paused", "queue_length": "12"}, ok=(302,),
)  # fmt: skip
endpoint(
    "api:nat_registrations", lambda cast: (site_a1(cast), "/api/v1/nat/registrations")[1], REGISTRARS,
    method="post", data=lambda cast: {"items": [_open(cast)]}, content_type="application/json", api=True,
)  # fmt: skip
endpoint(
    "api:nat_registration", lambda cast: (site_a1(cast), "/api/v1/nat/registration")[1], SITE_A, method="post",
    data=_open, content_type="application/json", api=True, ok=(201,),
)  # fmt: skip


def sealed_tube_a1(cast: Cast) -> str:
    from jiedao.nat.actions import do_apply_registrations
    from jiedao.nat.models import TestingRound
    from jiedao.registry.models import Resident
    from jiedao.registry.tests.factories import make_household

    site = site_a1(cast)
    rnd = TestingRound.objects.get()
    person = (
        Resident.objects.filter(household=make_household(cast.community_a, cast.grid_a1, members=1))
        .get()
        .person
    )
    at = timezone.now().isoformat()
    items = [
        {"key": "access-t-open", "op": "open_tube", "barcode": "ACCESS0002", "capacity": 10, "round": rnd.pk,
         "site": site.pk, "at": at},
        {"key": "access-t-s1", "op": "sample", "barcode": "ACCESS0002", "id_number": person.id_number, "at": at},
        {"key": "access-t-close", "op": "close_tube", "barcode": "ACCESS0002", "at": at},
    ]  # fmt: skip
    do_apply_registrations(actor=None, items=items)
    return "ACCESS0002"


def _results_file(cast: Cast) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {
        "lab": "天府检测中心",
        "file": SimpleUploadedFile("r.csv", "条码,结果\nACCESS0002,阴性\n".encode()),
    }


endpoint("nat:results", lambda cast: "/nat/results/", {"command"})
endpoint(
    "nat:results", lambda cast: (sealed_tube_a1(cast), "/nat/results/")[1], {"command"}, method="post",
    data=_results_file,
)  # fmt: skip
endpoint(
    "nat:tube",
    lambda cast: f"/nat/tubes/{sealed_tube_a1(cast)}/",
    {"command", "auditor", "community_staff_a"},
)
endpoint(
    "api:nat_results", lambda cast: (sealed_tube_a1(cast), "/api/v1/nat/results")[1], {"command"}, method="post",
    data=lambda cast: {"key": "access-r-1", "lab": "天府检测中心", "rows": [{"barcode": "ACCESS0002", "result": "negative"}]},
    content_type="application/json", api=True,
)  # fmt: skip


def _round(cast: Cast) -> int:
    from jiedao.nat.models import TestingRound

    site_a1(cast)
    return TestingRound.objects.get().pk


ROUNDS = {"command", "auditor", "community_staff_a", "community_staff_b", "grid_worker_a", "grid_worker_b",
          "grid_worker_a2"}  # fmt: skip
endpoint("nat:rounds", lambda cast: "/nat/rounds/", ROUNDS)
endpoint("nat:round", lambda cast: f"/nat/rounds/{_round(cast)}/", ROUNDS)
endpoint("nat:round_missing", lambda cast: f"/nat/rounds/{_round(cast)}/missing/", ROUNDS)


def _site_data(cast: Cast) -> dict[str, Any]:
    return {"name": "甲二采样点", "community": cast.community_a.pk, "lanes": "2", "hours": "07:00-20:00"}


def _round_data(cast: Cast) -> dict[str, Any]:
    now = timezone.localtime()
    return {
        "name": "第二轮全员核酸", "kind": "mass", "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + dt.timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M"),
    }  # fmt: skip


endpoint("nat:site_new", lambda cast: "/nat/sites/new", {"command", "community_staff_a", "community_staff_b"})
endpoint("nat:site_new", lambda cast: "/nat/sites/new", {"command", "community_staff_a"}, method="post",
         data=_site_data, ok=(302,))  # fmt: skip
endpoint(
    "nat:site_edit", lambda cast: f"/nat/my-sites/{site_a1(cast).pk}/edit", {"command", "community_staff_a"}
)
endpoint("nat:site_edit", lambda cast: f"/nat/my-sites/{site_a1(cast).pk}/edit", {"command", "community_staff_a"},
         method="post", data=_site_data, ok=(302,))  # fmt: skip
endpoint("nat:round_new", lambda cast: "/nat/rounds/new", {"command"})
endpoint(
    "nat:round_new", lambda cast: "/nat/rounds/new", {"command"}, method="post", data=_round_data, ok=(302,)
)


# ---- round planning: sites by compound, exemptions, missing work items, reconciliation ----------------


def _round_with_compound(cast: Cast) -> tuple[int, Any, Any]:
    """The round (whole subdistrict), a compound in A1 with one resident, and the site."""
    from jiedao.nat.models import TestingRound
    from jiedao.registry.models import Resident
    from jiedao.registry.tests.factories import make_household

    site_a1(cast)
    household = make_household(cast.community_a, cast.grid_a1, members=1)
    resident = Resident.objects.filter(household=household).get()
    return TestingRound.objects.get().pk, household.flat.compound, resident.person


def _assign_data(cast: Cast) -> dict[str, Any]:
    from jiedao.nat.models import TestingRound
    from jiedao.registry.models import Compound

    compound = Compound.objects.filter(community=cast.community_a).first() or _round_with_compound(cast)[1]
    return {"compound": compound.pk, "site": TestingRound.objects.get().sites.get().pk}


def _exempt_data(cast: Cast) -> dict[str, Any]:
    from jiedao.registry.models import Resident

    found = Resident.objects.filter(grid=cast.grid_a1).first()
    person = found.person if found else _round_with_compound(cast)[2]
    return {"person": person.pk, "reason": "away", "note": "在外地"}


def _exemption(cast: Cast) -> str:
    from jiedao.nat.models import TestingRound
    from jiedao.nat.rounds import do_exempt_person

    pk, _compound, person = _round_with_compound(cast)
    exemption = do_exempt_person(actor=None, rnd=TestingRound.objects.get(), person=person, reason="infant")
    return f"/nat/rounds/{pk}/exemptions/{exemption.pk}/lift"


OFFICES_A = {"command", "community_staff_a"}
endpoint("nat:assignments", lambda cast: f"/nat/rounds/{_round(cast)}/assignments/", ROUNDS)
endpoint(
    "nat:assignments", lambda cast: f"/nat/rounds/{_round(cast)}/assignments/", OFFICES_A, method="post",
    data=_assign_data, ok=(302,),
)  # fmt: skip
endpoint(
    "nat:exempt", lambda cast: f"/nat/rounds/{_round(cast)}/exempt", {"command", "community_staff_a", "grid_worker_a"},
    method="post", data=_exempt_data, ok=(302,),
)  # fmt: skip
endpoint("nat:exemptions", lambda cast: f"/nat/rounds/{_round(cast)}/exemptions/", ROUNDS)
endpoint(
    "nat:exemption_lift", _exemption, {"command", "community_staff_a", "grid_worker_a"}, method="post",
    ok=(302,),
)  # fmt: skip
endpoint(
    "nat:issue_missing", lambda cast: f"/nat/rounds/{_round(cast)}/issue-missing", {"command"}, method="post",
    ok=(302,),
)  # fmt: skip
endpoint(
    "nat:missing_schedule", lambda cast: f"/nat/rounds/{_round(cast)}/missing-schedule", {"command"},
    method="post", ok=(302,),
)  # fmt: skip
endpoint(
    "nat:reconcile", lambda cast: f"/nat/rounds/{_round(cast)}/reconcile/",
    {"command", "auditor", "community_staff_a", "community_staff_b"},
)  # fmt: skip


# ---- key-industry groups -----------------------------------------------------------------------------


def _group_a(cast: Cast) -> Any:
    from jiedao.nat.groups import do_save_group

    return do_save_group(
        actor=None, name="甲社区外卖骑手", industry="delivery", frequency_days=3, community=cast.community_a
    )


def _group_data(cast: Cast) -> dict[str, Any]:
    return {"name": "甲社区药店店员", "industry": "pharmacy", "frequency_days": "7", "spot_check_percent": "50",
            "community": cast.community_a.pk}  # fmt: skip


def _member_remove(cast: Cast) -> str:
    from jiedao.nat.groups import do_add_group_members
    from jiedao.registry.models import Resident
    from jiedao.registry.tests.factories import make_household

    group = _group_a(cast)
    person = (
        Resident.objects.filter(household=make_household(cast.community_a, cast.grid_a1, members=1))
        .get()
        .person
    )
    do_add_group_members(
        actor=None, group=group, rows=[{"row": 1, "name": person.name, "id_number": person.id_number}]
    )
    return f"/nat/groups/{group.pk}/members/{group.members.get().pk}/remove"


GROUP_READERS_A = {"command", "auditor", "community_staff_a"}
endpoint(
    "nat:groups",
    lambda cast: "/nat/groups/",
    {"command", "auditor", "community_staff_a", "community_staff_b"},
)
endpoint("nat:group", lambda cast: f"/nat/groups/{_group_a(cast).pk}/", GROUP_READERS_A)
endpoint(
    "nat:group", lambda cast: f"/nat/groups/{_group_a(cast).pk}/", OFFICES_A, method="post",
    data=lambda cast: {"name": "新成员", "id_number": "11010519491231002X", "employer": "美团"}, ok=(302,),
)  # fmt: skip
endpoint(
    "nat:group_new", lambda cast: "/nat/groups/new", {"command", "community_staff_a", "community_staff_b"}
)
endpoint(
    "nat:group_new", lambda cast: "/nat/groups/new", OFFICES_A, method="post", data=_group_data, ok=(302,)
)
endpoint("nat:group_edit", lambda cast: f"/nat/groups/{_group_a(cast).pk}/edit", OFFICES_A)
endpoint(
    "nat:group_edit", lambda cast: f"/nat/groups/{_group_a(cast).pk}/edit", OFFICES_A, method="post",
    data=_group_data, ok=(302,),
)  # fmt: skip
endpoint(
    "nat:member_remove",
    _member_remove,
    OFFICES_A,
    method="post",
    data=lambda cast: {"reason": "离职"},
    ok=(302,),
)


# ---- person-code cards: the grid's worker, the community office and the command centre -------------------


def _household_a1(cast: Cast) -> int:
    from jiedao.registry.tests.factories import make_household

    return make_household(cast.community_a, cast.grid_a1, members=2).pk


CARDS = {"command", "community_staff_a", "grid_worker_a"}
endpoint("nat:codes", lambda cast: f"/nat/codes/?household={_household_a1(cast)}", CARDS)
endpoint("nat:codes_print", lambda cast: f"/nat/codes/print/?household={_household_a1(cast)}", CARDS)


def _resident_a1(cast: Cast) -> int:
    from jiedao.registry.models import Household

    return Household.objects.get(pk=_household_a1(cast)).residents.first().person_id  # type: ignore[union-attr]


endpoint("nat:codes_void", lambda cast: f"/nat/codes/{_resident_a1(cast)}/void/", CARDS)
endpoint(
    "nat:codes_void", lambda cast: f"/nat/codes/{_resident_a1(cast)}/void/", CARDS, method="post",
    data=lambda cast: {"reason": "丢失"}, ok=(302,),
)  # fmt: skip
