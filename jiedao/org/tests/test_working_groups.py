"""Working groups of the command structure (C1): command writes them down; each change is audited."""

from __future__ import annotations

import pytest

from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.core.models import AuditEntry
from jiedao.org import actions
from jiedao.org.models import WorkingGroup

pytestmark = pytest.mark.django_db


def test_create_and_edit_through_the_pages(login, cast) -> None:  # type: ignore[no-untyped-def]
    client = login("command")
    empty = client.get("/working-groups/")
    assert b"jd-empty" in empty.content
    resp = client.post(
        "/working-groups/new/",
        {"name": "重点场所组", "position": 13, "duties": "药店诊所巡查\n重点场所排查",
         "lead": cast["community_staff_a"].pk, "members": [cast["inspector_a"].pk, cast["inspector_b"].pk]},
    )  # fmt: skip
    assert resp.status_code == 302
    group = WorkingGroup.objects.get(name="重点场所组")
    assert group.lead == cast["community_staff_a"]
    assert set(group.members.values_list("username", flat=True)) == {"inspector_a", "inspector_b"}
    page = client.get("/working-groups/").content.decode()
    assert "重点场所组" in page and "药店诊所巡查<br>重点场所排查" in page
    resp = client.post(
        f"/working-groups/{group.pk}/",
        {"name": "重点场所组", "position": 13, "duties": "药店诊所巡查", "members": [cast["inspector_a"].pk]},
    )
    assert resp.status_code == 302
    group.refresh_from_db()
    assert group.lead is None and list(group.members.values_list("username", flat=True)) == ["inspector_a"]
    entry = AuditEntry.objects.get(action="org.update_working_group")
    assert set(entry.changes) == {"duties", "lead", "members"}


def test_groups_list_in_their_position_order(login, cast) -> None:  # type: ignore[no-untyped-def]
    for pos, name in ((2, "乙组"), (1, "甲组"), (3, "丙组")):
        actions.do_create_working_group(actor=cast["command"], name=name, position=pos)
    groups = list(login("command").get("/working-groups/").context["groups"])
    assert [g.name for g in groups] == ["甲组", "乙组", "丙组"]


def test_bad_group_input(login, cast) -> None:  # type: ignore[no-untyped-def]
    actions.do_create_working_group(actor=cast["command"], name="综合组")
    with pytest.raises(Conflict):
        actions.do_create_working_group(actor=cast["command"], name="综合组")
    with pytest.raises(InvalidInput):
        actions.do_create_working_group(actor=cast["command"], name=" ")
    actions.do_set_staff_active(actor=None, user=cast["doctor_a"], active=False)
    with pytest.raises(InvalidInput) as exc:
        actions.do_create_working_group(actor=cast["command"], name="医疗组", lead=cast["doctor_a"])
    assert exc.value.field == "lead"
    with pytest.raises(Forbidden):
        actions.do_create_working_group(actor=cast["community_staff_a"], name="社区组")
    resp = login("command").post("/working-groups/new/", {"name": "综合组", "position": 1})
    assert resp.status_code == 422 and b'data-testid="error-name"' in resp.content
    assert WorkingGroup.objects.count() == 1


def test_unchanged_edit_records_nothing(cast) -> None:  # type: ignore[no-untyped-def]
    group = actions.do_create_working_group(actor=cast["command"], name="宣传组", duties="宣传")
    actions.do_update_working_group(actor=cast["command"], group=group, name="宣传组", duties="宣传")
    assert not AuditEntry.objects.filter(action="org.update_working_group").exists()
