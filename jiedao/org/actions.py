"""Writes for the organisation. Each is atomic and leaves an audit entry."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.org.choices import Role, UnitLevel
from jiedao.org.models import ApiKey, Community, Grid, RoleAssignment, Subdistrict, User
from jiedao.org.queries import require_manager


def _check_unit_in_manager_scope(
    actor: Any, level: str, community: Community | None, grid: Grid | None
) -> None:
    if actor is None:  # system (demo builder, management commands)
        return
    scope = require_manager(actor)
    if scope.everything:
        return
    if level == UnitLevel.SUBDISTRICT:
        raise Forbidden(
            "社区工作人员不能分配街道级角色 / community staff cannot grant subdistrict-wide roles"
        )
    community_id = grid.community_id if grid else (community.pk if community else None)
    if community_id not in scope.community_ids:
        raise NotFound("未找到该单位 / unit not found")


def do_assign_role(
    *,
    actor: Any,
    user: User,
    role: str,
    level: str,
    subdistrict: Subdistrict | None = None,
    community: Community | None = None,
    grid: Grid | None = None,
    reason: str = "",
) -> RoleAssignment:
    if role not in Role.values:
        raise InvalidInput(f"未知角色 {role} / unknown role {role}", field="role")
    if level not in UnitLevel.values:
        raise InvalidInput(f"未知层级 {level} / unknown level {level}", field="level")
    if level == UnitLevel.GRID:
        if grid is None:
            raise InvalidInput("请选择网格 / choose a grid", field="grid")
        community = grid.community
        subdistrict = None
    elif level == UnitLevel.COMMUNITY:
        if community is None:
            raise InvalidInput("请选择社区 / choose a community", field="community")
        grid = subdistrict = None
    else:
        subdistrict = subdistrict or Subdistrict.objects.first()
        community = grid = None
        if subdistrict is None:
            raise InvalidInput("尚未建立街道 / no subdistrict exists yet", field="level")
    _check_unit_in_manager_scope(actor, level, community, grid)
    with transaction.atomic():
        existing = RoleAssignment.objects.filter(
            user=user,
            role=role,
            level=level,
            subdistrict=subdistrict,
            community=community,
            grid=grid,
            active=True,
        ).first()
        if existing:
            raise Conflict("该用户已有此角色 / the user already holds this role here")
        assignment = RoleAssignment.objects.create(
            user=user, role=role, level=level, subdistrict=subdistrict, community=community, grid=grid,
            created_by=actor, updated_by=actor,
        )  # fmt: skip
        audit.record(
            actor=actor, action="org.assign_role", obj=assignment, reason=reason,
            changes={"user": user.username, "role": role, "unit": str(assignment.unit)},
        )  # fmt: skip
    user.__dict__.pop("active_assignments", None)
    return assignment


def do_revoke_role(*, actor: Any, assignment: RoleAssignment, reason: str = "") -> None:
    _check_unit_in_manager_scope(actor, assignment.level, assignment.community, assignment.grid)
    if actor is not None and assignment.user_id == actor.pk and assignment.role in (Role.COMMAND,):
        raise Forbidden("不能撤销自己的指挥部角色 / you cannot revoke your own command role")
    with transaction.atomic():
        assignment.active = False
        assignment.updated_by = actor
        assignment.save(update_fields=["active", "updated_by", "updated_at"])
        audit.record(
            actor=actor, action="org.revoke_role", obj=assignment, reason=reason,
            changes={"user": assignment.user.username, "role": assignment.role, "active": [True, False]},
        )  # fmt: skip


def do_create_staff(
    *,
    actor: Any,
    username: str,
    display_name: str,
    password: str,
    role: str,
    level: str,
    community: Community | None = None,
    grid: Grid | None = None,
    work_phone: str = "",
) -> User:
    username = username.strip()
    if not username:
        raise InvalidInput("请填写用户名 / username is required", field="username")
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位 / the password needs at least 8 characters", field="password")
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"用户名 {username} 已存在 / username {username} is taken", field="username")
        user = User(username=username, display_name=display_name.strip(), work_phone=work_phone.strip())
        user.set_password(password)
        user.save()
        audit.record(actor=actor, action="org.create_staff", obj=user, changes={"username": username})
        do_assign_role(actor=actor, user=user, role=role, level=level, community=community, grid=grid)
    return user


def do_set_staff_active(*, actor: Any, user: User, active: bool, reason: str = "") -> None:
    require_manager(actor)
    if actor is not None and user.pk == actor.pk and not active:
        raise Forbidden("不能停用自己的账号 / you cannot deactivate your own account")
    with transaction.atomic():
        before = user.is_active
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit.record(
            actor=actor, action="org.set_staff_active", obj=user, reason=reason,
            changes={"is_active": [before, active]},
        )  # fmt: skip


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def do_create_api_key(
    *, actor: Any, name: str, user: User, permissions: list[str], expires_at: Any = None
) -> tuple[ApiKey, str]:
    """Returns the key row and the raw key, which is shown once and never stored."""
    raw = "jd_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name, prefix=raw[:10], key_hash=hash_api_key(raw), user=user, permissions=sorted(set(permissions)),
            expires_at=expires_at, created_by=actor, updated_by=actor,
        )  # fmt: skip
        audit.record(
            actor=actor, action="org.create_api_key", obj=key, changes={"name": name, "user": user.username}
        )
    return key, raw


def do_revoke_api_key(*, actor: Any, key: ApiKey, reason: str = "") -> None:
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
        audit.record(actor=actor, action="org.revoke_api_key", obj=key, reason=reason)
