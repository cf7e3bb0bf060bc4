"""The rules of org/actions.py: who may grant, revoke, deactivate and reset what; every write audited."""

from __future__ import annotations

import pytest

from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.core.models import AuditEntry
from jiedao.org import actions
from jiedao.org.choices import Role, UnitLevel
from jiedao.org.models import RoleAssignment, User
from jiedao.org.queries import can_manage_account, staff_visible_to

pytestmark = pytest.mark.django_db
PASSWORD = "good-pass-2022"


def _staff(cast, username: str, grid=None, community=None, role: str = Role.GRID_WORKER) -> User:  # type: ignore[no-untyped-def]
    level = UnitLevel.GRID if grid else UnitLevel.COMMUNITY
    return actions.do_create_staff(
        actor=None, username=username, display_name=username, password=PASSWORD, role=role, level=level,
        grid=grid, community=community,
    )  # fmt: skip


# ---- creating staff ------------------------------------------------------------------------------


def test_community_staff_create_in_their_community_with_audit(cast) -> None:  # type: ignore[no-untyped-def]
    before = AuditEntry.objects.count()
    user = actions.do_create_staff(
        actor=cast["community_staff_a"], username="newbie", display_name=" 新人 ", password=PASSWORD,
        role=Role.GRID_WORKER, level=UnitLevel.GRID, grid=cast.grid_a2, work_phone="+86 138-0013-8000",
    )  # fmt: skip
    assert user.display_name == "新人" and user.work_phone == "13800138000"
    assert user.check_password(PASSWORD)
    assert user.roles == {Role.GRID_WORKER} and user.scope.grid_ids == {cast.grid_a2.pk}
    actions_logged = list(AuditEntry.objects.order_by("id").values_list("action", flat=True)[before:])
    assert actions_logged == ["org.create_staff", "org.assign_role"]
    assert PASSWORD not in str(list(AuditEntry.objects.values_list("changes", flat=True)))


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("work_phone", {"work_phone": "1380013800"}),
        ("work_phone", {"work_phone": "12800138000"}),
        ("username", {"username": "has space"}),
        ("username", {"username": "  "}),
        ("display_name", {"display_name": ""}),
        ("password", {"password": "short"}),
        ("role", {"role": "mayor"}),
        ("unit", {"level": UnitLevel.GRID, "grid": None}),
    ],
)
def test_bad_staff_input_names_the_field_and_writes_nothing(cast, field: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    args = {
        "actor": cast["command"], "username": "someone", "display_name": "某人", "password": PASSWORD,
        "role": Role.GRID_WORKER, "level": UnitLevel.GRID, "grid": cast.grid_a1, **kwargs,
    }  # fmt: skip
    users, entries = User.objects.count(), AuditEntry.objects.count()
    with pytest.raises(InvalidInput) as exc:
        actions.do_create_staff(**args)
    assert exc.value.field == field
    assert (User.objects.count(), AuditEntry.objects.count()) == (users, entries)


def test_username_taken_case_insensitively(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Conflict) as exc:
        _staff(cast, "Grid_Worker_A", grid=cast.grid_a1)
    assert exc.value.field == "username"


def test_community_staff_cannot_create_in_another_community(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        actions.do_create_staff(
            actor=cast["community_staff_a"], username="x1", display_name="x", password=PASSWORD,
            role=Role.GRID_WORKER, level=UnitLevel.GRID, grid=cast.grid_b1,
        )  # fmt: skip
    assert not User.objects.filter(username="x1").exists()


def test_non_managers_create_nobody(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        actions.do_create_staff(
            actor=cast["grid_worker_a"], username="x2", display_name="x", password=PASSWORD,
            role=Role.VOLUNTEER, level=UnitLevel.GRID, grid=cast.grid_a1,
        )  # fmt: skip


# ---- granting roles ------------------------------------------------------------------------------


def test_community_staff_may_not_grant_subdistrict_roles_or_command(cast) -> None:  # type: ignore[no-untyped-def]
    target = cast["grid_worker_a"]
    mgr = cast["community_staff_a"]
    with pytest.raises(Forbidden):
        actions.do_assign_role(actor=mgr, user=target, role=Role.AUDITOR, level=UnitLevel.SUBDISTRICT)
    with pytest.raises(Forbidden):
        actions.do_assign_role(
            actor=mgr, user=target, role=Role.COMMAND, level=UnitLevel.COMMUNITY, community=cast.community_a
        )
    with pytest.raises(NotFound):
        actions.do_assign_role(
            actor=mgr, user=target, role=Role.DOCTOR, level=UnitLevel.COMMUNITY, community=cast.community_b
        )
    assert target.assignments.count() == 1


def test_community_staff_may_not_grant_to_someone_outside_their_community(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        actions.do_assign_role(
            actor=cast["community_staff_a"], user=cast["grid_worker_b"], role=Role.VOLUNTEER,
            level=UnitLevel.GRID, grid=cast.grid_a1,
        )  # fmt: skip


def test_command_role_only_for_the_whole_subdistrict(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as exc:
        actions.do_assign_role(
            actor=cast["command"], user=cast["doctor_a"], role=Role.COMMAND, level=UnitLevel.COMMUNITY,
            community=cast.community_a,
        )  # fmt: skip
    assert exc.value.field == "unit"
    a = actions.do_assign_role(
        actor=cast["command"], user=cast["doctor_a"], role=Role.COMMAND, level=UnitLevel.SUBDISTRICT
    )
    assert a.subdistrict == cast.subdistrict and cast["doctor_a"].scope.everything


def test_grid_role_records_its_community_and_duplicates_conflict(cast) -> None:  # type: ignore[no-untyped-def]
    mgr, user = cast["community_staff_a"], cast["grid_worker_a"]
    a = actions.do_assign_role(
        actor=mgr, user=user, role=Role.VOLUNTEER, level=UnitLevel.GRID, grid=cast.grid_a2
    )
    assert a.community == cast.community_a and a.grid == cast.grid_a2
    assert AuditEntry.objects.filter(action="org.assign_role", object_id=str(a.pk)).exists()
    with pytest.raises(Conflict):
        actions.do_assign_role(
            actor=mgr, user=user, role=Role.VOLUNTEER, level=UnitLevel.GRID, grid=cast.grid_a2
        )


# ---- revoking roles ------------------------------------------------------------------------------


def test_revoke_within_the_community(cast) -> None:  # type: ignore[no-untyped-def]
    user = cast["grid_worker_a"]
    a = user.assignments.get()
    actions.do_revoke_role(actor=cast["community_staff_a"], assignment=a, reason="调岗")
    a.refresh_from_db()
    assert not a.active and not User.objects.get(pk=user.pk).roles
    entry = AuditEntry.objects.get(action="org.revoke_role", object_id=str(a.pk))
    assert entry.reason == "调岗" and entry.actor_label == "community_staff_a"
    with pytest.raises(Conflict):
        actions.do_revoke_role(actor=cast["community_staff_a"], assignment=a)


def test_revoke_outside_the_community_or_at_subdistrict_level_is_refused(cast) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        actions.do_revoke_role(
            actor=cast["community_staff_a"], assignment=cast["grid_worker_b"].assignments.get()
        )
    with pytest.raises(Forbidden):
        actions.do_revoke_role(actor=cast["community_staff_a"], assignment=cast["auditor"].assignments.get())
    with pytest.raises(Forbidden):
        actions.do_revoke_role(actor=cast["command"], assignment=cast["command"].assignments.get())
    assert RoleAssignment.objects.filter(active=False).count() == 0


# ---- who a manager sees ----------------------------------------------------------------------------


def test_staff_visible_to_command_and_each_community(cast) -> None:  # type: ignore[no-untyped-def]
    everyone = set(staff_visible_to(cast["command"]).values_list("username", flat=True))
    in_a = set(staff_visible_to(cast["community_staff_a"]).values_list("username", flat=True))
    assert {"command", "auditor", "outsider", "grid_worker_b", "grid_worker_a"} <= everyone
    assert "grid_worker_a" in in_a and "grid_worker_a2" in in_a and "doctor_a" in in_a
    assert not in_a & {"command", "auditor", "outsider", "grid_worker_b", "community_staff_b"}
    with pytest.raises(Forbidden):
        staff_visible_to(cast["grid_worker_a"])


def test_a_revoked_member_stays_with_the_community_that_revoked_them(cast) -> None:  # type: ignore[no-untyped-def]
    user = cast["doctor_a"]
    actions.do_revoke_role(actor=cast["community_staff_a"], assignment=user.assignments.get())
    assert staff_visible_to(cast["community_staff_a"]).filter(pk=user.pk).exists()
    # ...until they hold a role elsewhere: then it is that community's account
    actions.do_assign_role(
        actor=cast["command"],
        user=user,
        role=Role.DOCTOR,
        level=UnitLevel.COMMUNITY,
        community=cast.community_b,
    )
    assert not staff_visible_to(cast["community_staff_a"]).filter(pk=user.pk).exists()
    assert staff_visible_to(cast["community_staff_b"]).filter(pk=user.pk).exists()


def test_service_accounts_are_not_staff(cast) -> None:  # type: ignore[no-untyped-def]
    key, _raw = actions.do_create_service_key(
        actor=cast["command"], name="k", role=Role.GRID_WORKER, level=UnitLevel.GRID, grid=cast.grid_a1,
        permissions=["registry.read"],
    )  # fmt: skip
    assert not staff_visible_to(cast["command"]).filter(pk=key.user_id).exists()
    assert not staff_visible_to(cast["community_staff_a"]).filter(pk=key.user_id).exists()


# ---- account-wide acts -----------------------------------------------------------------------------


def test_deactivate_and_reactivate_with_audit(cast) -> None:  # type: ignore[no-untyped-def]
    user = cast["grid_worker_a"]
    actions.do_set_staff_active(actor=cast["community_staff_a"], user=user, active=False, reason="离职")
    assert not User.objects.get(pk=user.pk).is_active
    actions.do_set_staff_active(actor=cast["community_staff_a"], user=user, active=False)  # repeat: no-op
    actions.do_set_staff_active(actor=cast["community_staff_a"], user=user, active=True)
    logged = AuditEntry.objects.filter(action="org.set_staff_active").order_by("id")
    assert [(e.changes, e.reason) for e in logged] == [
        ({"is_active": [True, False]}, "离职"),
        ({"is_active": [False, True]}, ""),
    ]


def test_account_acts_refused_outside_the_community_or_on_oneself(cast) -> None:  # type: ignore[no-untyped-def]
    mgr = cast["community_staff_a"]
    with pytest.raises(NotFound):
        actions.do_set_staff_active(actor=mgr, user=cast["grid_worker_b"], active=False)
    with pytest.raises(NotFound):
        actions.do_reset_password(actor=mgr, user=cast["command"], password="whatever-123")
    with pytest.raises(Forbidden):
        actions.do_set_staff_active(actor=mgr, user=mgr, active=False)
    with pytest.raises(Forbidden):
        actions.do_reset_password(actor=mgr, user=mgr, password="whatever-123")
    with pytest.raises(Forbidden):
        actions.do_set_staff_active(actor=cast["grid_worker_a"], user=cast["volunteer_a"], active=False)
    assert User.objects.filter(is_active=False).count() == 0


def test_someone_with_roles_beyond_the_community_is_commands_to_lock_out(cast) -> None:  # type: ignore[no-untyped-def]
    """A community manager must not take over (password) or lock out a person who also works elsewhere."""
    user = cast["grid_worker_a"]
    actions.do_assign_role(actor=cast["command"], user=user, role=Role.AUDITOR, level=UnitLevel.SUBDISTRICT)
    mgr = cast["community_staff_a"]
    assert staff_visible_to(mgr).filter(pk=user.pk).exists()
    assert not can_manage_account(mgr, user) and can_manage_account(cast["command"], user)
    with pytest.raises(Forbidden):
        actions.do_reset_password(actor=mgr, user=user, password="takeover-123")
    with pytest.raises(Forbidden):
        actions.do_set_staff_active(actor=mgr, user=user, active=False)
    actions.do_reset_password(actor=cast["command"], user=user, password="by-command-123")
    assert User.objects.get(pk=user.pk).check_password("by-command-123")


def test_password_reset_is_validated_and_audited_without_the_password(cast) -> None:  # type: ignore[no-untyped-def]
    user = cast["grid_worker_a"]
    with pytest.raises(InvalidInput) as exc:
        actions.do_reset_password(actor=cast["community_staff_a"], user=user, password="short")
    assert exc.value.field == "password"
    actions.do_reset_password(
        actor=cast["community_staff_a"], user=user, password="Longer-pass-1", reason="忘记"
    )
    entry = AuditEntry.objects.get(action="org.reset_password")
    assert entry.object_id == str(user.pk) and "Longer-pass-1" not in str(entry.changes) + entry.reason
