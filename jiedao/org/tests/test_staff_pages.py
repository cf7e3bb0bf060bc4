"""The staff pages: list (scope, filters, sort, HTMX, no query per row), export, create, roles, account."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import Client

from jiedao.core.models import AuditEntry
from jiedao.core.testing import assert_no_per_row_queries
from jiedao.org import actions
from jiedao.org.choices import Role, UnitLevel
from jiedao.org.models import RoleAssignment, User

PASSWORD = "page-pass-2022"

# These tests read the English UI text.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _rows(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return [u.username for u in resp.context["list"].rows]


def _all_rows(client: Client, **params: str) -> set[str]:
    return set(_rows(client.get("/staff/", {"per_page": 100, **params})))


# ---- list ------------------------------------------------------------------------------------------


def test_list_is_scoped_to_the_managers_community(login, cast) -> None:  # type: ignore[no-untyped-def]
    names_a = _all_rows(login("community_staff_a"))
    assert {"grid_worker_a", "grid_worker_a2", "doctor_a", "community_staff_a"} <= names_a
    assert not names_a & {"grid_worker_b", "command", "auditor", "outsider"}
    names_cmd = _all_rows(login("command"))
    assert names_cmd >= names_a | {"grid_worker_b", "command", "auditor"}


def test_search_filter_and_sort(login, cast) -> None:  # type: ignore[no-untyped-def]
    client = login("command")
    assert _all_rows(client, q="GRID_WORKER_A") == {"grid_worker_a", "grid_worker_a2"}
    assert _all_rows(client, role="grid_worker", community=str(cast.community_b.pk)) == {"grid_worker_b"}
    # role and community must hold on the same assignment
    actions.do_assign_role(
        actor=None, user=cast["doctor_b"], role=Role.VOLUNTEER, level=UnitLevel.GRID, grid=cast.grid_a1
    )
    assert "doctor_b" not in _all_rows(client, role="doctor", community=str(cast.community_a.pk))
    assert "doctor_b" in _all_rows(client, role="volunteer", community=str(cast.community_a.pk))
    actions.do_set_staff_active(actor=None, user=cast["police_a"], active=False)
    assert _all_rows(client, active="no") == {"police_a"}
    assert "police_a" not in _all_rows(client, active="yes")
    asc = _rows(client.get("/staff/", {"sort": "username", "per_page": 100}))
    assert asc == sorted(asc) and len(asc) > 10
    desc = _rows(client.get("/staff/", {"sort": "-username", "per_page": 100}))
    assert desc == asc[::-1]


def test_bad_filter_values_are_ignored_not_fatal(login, cast) -> None:  # type: ignore[no-untyped-def]
    resp = login("command").get(
        "/staff/", {"community": "abc", "role": "mayor", "sort": "password", "page": "x"}
    )
    assert resp.status_code == 200 and len(_rows(resp)) > 0


def test_htmx_request_gets_the_table_partial(login, cast) -> None:  # type: ignore[no-untyped-def]
    client = login("command")
    full = client.get("/staff/")
    assert b'data-testid="staff-filters"' in full.content and b'hx-target="#staff-table"' in full.content
    part = client.get("/staff/", {"q": "doctor"}, HTTP_HX_REQUEST="true")
    assert part.status_code == 200
    assert b"<html" not in part.content and b'data-testid="staff-table"' in part.content
    assert b"doctor_a" in part.content and b"grid_worker_a" not in part.content


def test_list_paginates(login, cast) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):
        actions.do_create_staff(
            actor=None, username=f"more{i}", display_name=f"多{i}", password=PASSWORD, role=Role.VOLUNTEER,
            level=UnitLevel.GRID, grid=cast.grid_b1,
        )  # fmt: skip
    resp = login("command").get("/staff/")
    page = resp.context["list"].page
    assert page.paginator.count == User.objects.filter(is_service_account=False).count() > 25
    assert len(page.object_list) == 25
    second = login("command").get("/staff/", {"page": 2})
    assert not set(_rows(second)) & set(_rows(resp))


def test_work_phones_are_masked_in_the_list(login, cast) -> None:  # type: ignore[no-untyped-def]
    actions.do_create_staff(
        actor=None, username="phoned", display_name="有电话", password=PASSWORD, role=Role.DOCTOR,
        level=UnitLevel.COMMUNITY, community=cast.community_a, work_phone="13912345678",
    )  # fmt: skip
    body = login("command").get("/staff/", {"q": "phoned"}).content.decode()
    assert "139****5678" in body and "13912345678" not in body


def test_no_query_per_row(login, cast) -> None:  # type: ignore[no-untyped-def]
    client = login("community_staff_a")

    def add(n: int) -> None:
        for i in range(n):
            user = actions.do_create_staff(
                actor=None, username=f"extra{i}", display_name=f"加{i}", password=PASSWORD,
                role=Role.GRID_WORKER, level=UnitLevel.GRID, grid=cast.grid_a1,
            )  # fmt: skip
            actions.do_assign_role(
                actor=None, user=user, role=Role.VOLUNTEER, level=UnitLevel.GRID, grid=cast.grid_a2
            )

    assert_no_per_row_queries(lambda: client.get("/staff/", {"per_page": 100}), add)


def test_export_matches_the_filters_and_masks_phones(login, cast) -> None:  # type: ignore[no-untyped-def]
    # usernames cannot start with "=", display names can: the cell must stay text
    actions.do_create_staff(
        actor=None, username="excel", display_name="=1+1", password=PASSWORD, role=Role.DOCTOR,
        level=UnitLevel.COMMUNITY, community=cast.community_a, work_phone="13912345678",
    )  # fmt: skip
    resp = login("community_staff_a").get("/staff/export.xlsx", {"role": "doctor"})
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {"doctor_a", "excel"}
    excel = next(r for r in rows if r[0] == "excel")
    assert excel[1] == "=1+1" and excel[2] == "139****5678"
    assert "医生" in excel[3] or "Doctor" in excel[3]
    row = next(i for i, r in enumerate(rows, start=1) if r[0] == "excel")
    assert sheet.cell(row=row, column=2).data_type == "s"  # text, never a formula
    entry = AuditEntry.objects.get(action="org.export_staff")
    assert entry.actor_label == "community_staff_a"
    assert entry.changes == {"filters": {"role": "doctor"}, "rows": 2}


# ---- create ----------------------------------------------------------------------------------------


def _create(client: Client, cast, **over: str):  # type: ignore[no-untyped-def]
    data = {
        "username": "zhangsan", "display_name": "张三", "work_phone": "138 0013 8000", "password": PASSWORD,
        "password2": PASSWORD, "role": Role.GRID_WORKER, "unit": f"grid:{cast.grid_a1.pk}", **over,
    }  # fmt: skip
    return client.post("/staff/new/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_create_staff_through_the_page(login, cast) -> None:  # type: ignore[no-untyped-def]
    client = login("community_staff_a")
    form = client.get("/staff/new/").content.decode()
    assert f'value="grid:{cast.grid_a1.pk}"' in form and f'value="grid:{cast.grid_b1.pk}"' not in form
    assert 'value="command"' not in form and "subdistrict:" not in form
    resp = _create(client, cast)
    user = User.objects.get(username="zhangsan")
    assert resp.status_code == 302 and resp["Location"] == f"/staff/{user.pk}/"
    assert user.work_phone == "13800138000" and user.roles == {"grid_worker"}
    assert AuditEntry.objects.filter(action="org.create_staff", actor_label="community_staff_a").exists()


@pytest.mark.parametrize(
    ("over", "field", "needle"),
    [
        ({"work_phone": "12345"}, "work_phone", "11 digits"),
        ({"password2": "something-else"}, "password2", "differ"),
        ({"username": "grid_worker_a"}, "username", "taken"),
        ({"unit": "grid:999999"}, "unit", "Choose a unit"),
        ({"unit": ""}, "unit", ""),
        ({"password": "short", "password2": "short"}, "password", ""),
    ],
)
def test_create_staff_errors_are_shown_by_field(login, cast, over: dict, field: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    before = User.objects.count()
    resp = _create(login("command"), cast, **over)
    assert resp.status_code == 422
    body = resp.content.decode()
    assert f'data-testid="error-{field}"' in body and needle in body
    assert User.objects.count() == before


def test_community_staff_cannot_create_in_community_b_via_the_page(login, cast) -> None:  # type: ignore[no-untyped-def]
    resp = _create(login("community_staff_a"), cast, unit=f"grid:{cast.grid_b1.pk}")
    assert resp.status_code == 404
    resp = _create(login("community_staff_a"), cast, unit=f"subdistrict:{cast.subdistrict.pk}")
    assert resp.status_code == 403
    assert not User.objects.filter(username="zhangsan").exists()


# ---- detail and roles ------------------------------------------------------------------------------


def _only_in_a(cast) -> User:  # type: ignore[no-untyped-def]
    return actions.do_create_staff(
        actor=None, username="only-a", display_name="甲", password=PASSWORD, role=Role.GRID_WORKER,
        level=UnitLevel.GRID, grid=cast.grid_a1,
    )  # fmt: skip


def test_detail_shows_roles_history_and_404s_out_of_scope(login, cast) -> None:  # type: ignore[no-untyped-def]
    user = _only_in_a(cast)
    resp = login("community_staff_a").get(f"/staff/{user.pk}/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert body.count('data-testid="assignment"') == 1 and 'data-testid="revoke-role"' in body
    assert "Account created" in body and 'data-testid="reset-password"' in body
    assert login("community_staff_b").get(f"/staff/{user.pk}/").status_code == 404
    assert login("grid_worker_a").get(f"/staff/{user.pk}/").status_code == 403
    assert login("command").get("/staff/999999/").status_code == 404


def test_add_role_rules_on_the_page(login, cast) -> None:  # type: ignore[no-untyped-def]
    user = _only_in_a(cast)
    url = f"/staff/{user.pk}/roles/add/"
    a = login("community_staff_a")
    assert a.post(url, {"role": "auditor", "unit": f"subdistrict:{cast.subdistrict.pk}"}).status_code == 403
    assert a.post(url, {"role": "command", "unit": f"community:{cast.community_a.pk}"}).status_code == 403
    assert a.post(url, {"role": "doctor", "unit": f"community:{cast.community_b.pk}"}).status_code == 404
    assert a.post(url, {"role": "doctor", "unit": f"grid:{cast.grid_b1.pk}"}).status_code == 404
    assert (
        login("community_staff_b")
        .post(url, {"role": "doctor", "unit": f"community:{cast.community_b.pk}"})
        .status_code
        == 404
    )
    assert user.assignments.count() == 1
    a = login("community_staff_a")  # the fixture shares one client: sign A in again
    resp = a.post(url, {"role": "doctor", "unit": f"community:{cast.community_a.pk}", "reason": "兼任"})
    assert resp.status_code == 302
    assert set(user.assignments.filter(active=True).values_list("role", flat=True)) == {
        "grid_worker",
        "doctor",
    }
    again = a.post(
        url, {"role": "doctor", "unit": f"community:{cast.community_a.pk}"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert again.status_code == 422 and "already holds" in again.content.decode()


def test_revoke_role_asks_first(login, cast) -> None:  # type: ignore[no-untyped-def]
    user = _only_in_a(cast)
    assignment = user.assignments.get()
    url = f"/staff/{user.pk}/roles/{assignment.pk}/revoke/"
    client = login("community_staff_a")
    confirm = client.get(url)
    assert confirm.status_code == 200 and b'data-testid="confirm"' in confirm.content
    assignment.refresh_from_db()
    assert assignment.active  # looking at the question changes nothing
    resp = client.post(url, {"reason": "调离"})
    assert resp.status_code == 302
    assignment.refresh_from_db()
    assert not assignment.active
    assert client.post(url, {}).status_code == 409


def test_revoke_of_another_users_assignment_via_url_is_404(login, cast) -> None:  # type: ignore[no-untyped-def]
    user = _only_in_a(cast)
    other = cast["grid_worker_a"].assignments.get()
    assert login("command").post(f"/staff/{user.pk}/roles/{other.pk}/revoke/").status_code == 404
    assert RoleAssignment.objects.get(pk=other.pk).active


def test_community_staff_cannot_revoke_a_subdistrict_role_via_the_page(login, cast) -> None:  # type: ignore[no-untyped-def]
    user = _only_in_a(cast)
    sub = actions.do_assign_role(actor=None, user=user, role=Role.AUDITOR, level=UnitLevel.SUBDISTRICT)
    client = login("community_staff_a")
    body = client.get(f"/staff/{user.pk}/").content.decode()
    assert body.count('data-testid="revoke-role"') == 1  # only the grid role in A
    assert 'data-testid="reset-password"' not in body  # the account reaches beyond community A
    assert client.post(f"/staff/{user.pk}/roles/{sub.pk}/revoke/").status_code == 403
    assert client.get(f"/staff/{user.pk}/password/").status_code == 403
    assert client.post(f"/staff/{user.pk}/active/", {"active": "0"}).status_code == 403
    sub.refresh_from_db()
    assert sub.active and User.objects.get(pk=user.pk).is_active


# ---- account ---------------------------------------------------------------------------------------


def test_deactivate_then_reactivate_with_confirmation(login, cast) -> None:  # type: ignore[no-untyped-def]
    user = _only_in_a(cast)
    url = f"/staff/{user.pk}/active/"
    client = login("community_staff_a")
    confirm = client.get(url).content.decode()
    assert 'name="active" value="0"' in confirm
    assert client.post(url, {"active": "0", "reason": "离职"}).status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    assert 'name="active" value="1"' in client.get(url).content.decode()
    assert client.post(url, {"active": "1"}).status_code == 302
    user.refresh_from_db()
    assert user.is_active
    assert client.post(url, {"active": "maybe"}).status_code == 422


def test_manager_cannot_deactivate_themselves_via_the_page(login, cast) -> None:  # type: ignore[no-untyped-def]
    me = cast["community_staff_a"]
    resp = login("community_staff_a").post(f"/staff/{me.pk}/active/", {"active": "0"})
    assert resp.status_code == 403
    assert User.objects.get(pk=me.pk).is_active


def test_reset_password_via_the_page(login, cast) -> None:  # type: ignore[no-untyped-def]
    user = _only_in_a(cast)
    url = f"/staff/{user.pk}/password/"
    client = login("community_staff_a")
    bad = client.post(url, {"password": "abc", "password2": "abc"})
    assert bad.status_code == 422 and b'data-testid="error-password"' in bad.content
    mismatch = client.post(url, {"password": "new-pass-2022", "password2": "new-pass-2023"})
    assert mismatch.status_code == 422
    assert client.post(url, {"password": "new-pass-2022", "password2": "new-pass-2022"}).status_code == 302
    assert User.objects.get(pk=user.pk).check_password("new-pass-2022")
    assert login("community_staff_b").get(url).status_code == 404


def test_dashboard_card_counts_active_staff_for_command(login, cast) -> None:  # type: ignore[no-untyped-def]
    def card_value(client: Client) -> int | None:
        cards = client.get("/", {"view": "dashboard"}).context["cards"]
        values = [c.value for c in cards if "/staff/" in c.url]
        return values[0] if values else None

    expected = User.objects.filter(is_active=True, assignments__active=True).distinct().count()
    client = login("command")
    assert card_value(client) == expected
    actions.do_set_staff_active(actor=None, user=cast["police_b"], active=False)
    assert card_value(client) == expected - 1
    assert card_value(login("community_staff_a")) is None
