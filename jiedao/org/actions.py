"""Writes for the organisation. Each is atomic, checks who may do it, and leaves an audit entry.

`actor=None` means the system (the demo builder, management commands): scope checks are skipped."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.core.identity import normalize_mobile
from jiedao.org.choices import SUBDISTRICT_ONLY_ROLES, ApiPermission, Role, UnitLevel
from jiedao.org.models import ApiKey, Community, Grid, RoleAssignment, Subdistrict, User, WorkingGroup
from jiedao.org.queries import can_manage_account, require_command, require_manager, staff_visible_to

Unit = tuple[str, Subdistrict | None, Community | None, Grid | None]


def _forget_roles(user: User) -> None:
    # The role caches on the instance are stale once an assignment changes.
    for attr in ("active_assignments", "roles", "scope"):
        user.__dict__.pop(attr, None)


def _resolve_unit(
    level: str, subdistrict: Subdistrict | None, community: Community | None, grid: Grid | None
) -> Unit:
    if level not in UnitLevel.values:
        raise InvalidInput(_("Unknown level %(level)s.") % {"level": level}, field="unit")
    if level == UnitLevel.GRID:
        if grid is None:
            raise InvalidInput(_("Choose a grid."), field="unit")
        return level, None, grid.community, grid
    if level == UnitLevel.COMMUNITY:
        if community is None:
            raise InvalidInput(_("Choose a community."), field="unit")
        return level, None, community, None
    subdistrict = subdistrict or Subdistrict.objects.first()
    if subdistrict is None:
        raise InvalidInput(_("No subdistrict exists yet."), field="unit")
    return level, subdistrict, None, None


def _check_unit_in_manager_scope(
    actor: Any, level: str, community: Community | None, grid: Grid | None, role: str = ""
) -> None:
    """A community manager works only inside their community: never at subdistrict level, never `command`."""
    if actor is None:
        return
    scope = require_manager(actor)
    if scope.everything:
        return
    if level == UnitLevel.SUBDISTRICT:
        raise Forbidden(_("Community staff cannot grant or revoke subdistrict-wide roles."))
    if role in SUBDISTRICT_ONLY_ROLES:
        raise Forbidden(_("Community staff cannot grant the command role."))
    community_id = grid.community_id if grid else (community.pk if community else None)
    if not scope.covers(community_id, grid.pk if grid else None):
        raise NotFound(_("Unit not found."))


def _prepare_grant(
    actor: Any,
    role: str,
    level: str,
    subdistrict: Subdistrict | None,
    community: Community | None,
    grid: Grid | None,
) -> Unit:
    """Validate a role in a unit and that `actor` may grant it; writes nothing."""
    if role not in Role.values:
        raise InvalidInput(_("Unknown role %(role)s.") % {"role": role}, field="role")
    unit = _resolve_unit(level, subdistrict, community, grid)
    _check_unit_in_manager_scope(actor, unit[0], unit[2], unit[3], role)
    if role in SUBDISTRICT_ONLY_ROLES and unit[0] != UnitLevel.SUBDISTRICT:
        raise InvalidInput(
            _("The command role can only be held for the whole subdistrict."),
            field="unit",
        )
    return unit


def _write_grant(*, actor: Any, user: User, role: str, unit: Unit, reason: str) -> RoleAssignment:
    level, subdistrict, community, grid = unit
    if RoleAssignment.objects.filter(
        user=user,
        role=role,
        level=level,
        subdistrict=subdistrict,
        community=community,
        grid=grid,
        active=True,
    ).exists():
        raise Conflict(_("The user already holds this role here."), field="role")
    assignment = RoleAssignment.objects.create(
        user=user, role=role, level=level, subdistrict=subdistrict, community=community, grid=grid,
        created_by=actor, updated_by=actor,
    )  # fmt: skip
    audit.record(
        actor=actor, action="org.assign_role", obj=assignment, reason=reason,
        changes={"user": user.username, "role": role, "unit": str(assignment.unit)},
    )  # fmt: skip
    _forget_roles(user)
    return assignment


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
    unit = _prepare_grant(actor, role, level, subdistrict, community, grid)
    if actor is not None and not staff_visible_to(actor).filter(pk=user.pk).exists():
        raise NotFound(_("Staff member not found."))
    with transaction.atomic():
        return _write_grant(actor=actor, user=user, role=role, unit=unit, reason=reason)


def check_revoke_role(actor: Any, assignment: RoleAssignment) -> None:
    """Raise unless `actor` may revoke `assignment` (pages call it before showing the confirmation)."""
    _check_unit_in_manager_scope(actor, assignment.level, assignment.community, assignment.grid)
    if actor is not None and assignment.user_id == actor.pk and assignment.role in SUBDISTRICT_ONLY_ROLES:
        raise Forbidden(_("You cannot revoke your own command role."))


def do_revoke_role(*, actor: Any, assignment: RoleAssignment, reason: str = "") -> None:
    check_revoke_role(actor, assignment)
    if not assignment.active:
        raise Conflict(_("This role was already revoked."))
    with transaction.atomic():
        assignment.active = False
        assignment.updated_by = actor
        assignment.save(update_fields=["active", "updated_by", "updated_at"])
        audit.record(
            actor=actor, action="org.revoke_role", obj=assignment, reason=reason,
            changes={"user": assignment.user.username, "role": assignment.role, "active": [True, False]},
        )  # fmt: skip
    _forget_roles(assignment.user)


def _clean_username(username: str) -> str:
    username = username.strip()
    if not username:
        raise InvalidInput(_("The username is required."), field="username")
    try:
        User.username_validator(username)
    except ValidationError:
        raise InvalidInput(
            _("A username may contain only letters, digits and @ . + - _"),
            field="username",
        )
    if len(username) > 150:
        raise InvalidInput(_("A username has at most 150 characters."), field="username")
    return username


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(str(m) for m in exc.messages), field="password")


def clean_work_phone(raw: str) -> str:
    if not raw.strip():
        return ""
    try:
        return normalize_mobile(raw)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="work_phone")


def do_create_staff(
    *,
    actor: Any,
    username: str,
    display_name: str,
    password: str,
    role: str,
    level: str,
    subdistrict: Subdistrict | None = None,
    community: Community | None = None,
    grid: Grid | None = None,
    work_phone: str = "",
) -> User:
    """A staff account with its first role; a community manager can only create it in their community."""
    if actor is not None:
        require_manager(actor)
    username = _clean_username(username)
    display_name = display_name.strip()
    if not display_name:
        raise InvalidInput(_("The display name is required."), field="display_name")
    if len(display_name) > 100:
        raise InvalidInput(_("The display name has at most 100 characters."), field="display_name")
    phone = clean_work_phone(work_phone)
    _check_password(password)
    unit = _prepare_grant(actor, role, level, subdistrict, community, grid)
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict(
                _("The username %(username)s is taken.") % {"username": username}, field="username"
            )
        user = User(username=username, display_name=display_name, work_phone=phone)
        user.set_password(password)
        user.save()
        audit.record(
            actor=actor, action="org.create_staff", obj=user,
            changes={"username": username, "display_name": display_name},
        )  # fmt: skip
        _write_grant(actor=actor, user=user, role=role, unit=unit, reason="")
    return user


def require_account_manager(actor: Any, user: User) -> None:
    """Raise unless `actor` may act on `user`'s account as a whole (see queries.can_manage_account)."""
    if actor is None:
        return
    if not staff_visible_to(actor).filter(pk=user.pk).exists():
        raise NotFound(_("Staff member not found."))
    if not can_manage_account(actor, user):
        raise Forbidden(
            _(
                "This person also holds roles outside your community: only the command centre may manage "
                "the account."
            )
        )


def do_set_staff_active(*, actor: Any, user: User, active: bool, reason: str = "") -> None:
    """Deactivate (the account can no longer sign in; open sessions end) or reactivate an account."""
    require_account_manager(actor, user)
    if actor is not None and user.pk == actor.pk and not active:
        raise Forbidden(_("You cannot deactivate your own account."))
    if user.is_active == active:
        return  # already so: a repeated submit changes nothing and records nothing
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit.record(
            actor=actor, action="org.set_staff_active", obj=user, reason=reason,
            changes={"is_active": [not active, active]},
        )  # fmt: skip


def do_reset_password(*, actor: Any, user: User, password: str, reason: str = "") -> None:
    """Set a new password chosen by the manager; the account's open sessions end with it."""
    require_account_manager(actor, user)
    if actor is not None and user.pk == actor.pk:
        raise Forbidden(_("You cannot reset your own password here."))
    _check_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        # The password itself never reaches the audit log.
        audit.record(actor=actor, action="org.reset_password", obj=user, reason=reason)


# ---- API keys -------------------------------------------------------------------------------------


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _clean_key_request(name: str, permissions: Iterable[str], expires_at: Any) -> tuple[str, list[str]]:
    name = name.strip()
    if not name:
        raise InvalidInput(_("The key needs a name."), field="name")
    if len(name) > 100:
        raise InvalidInput(_("The name has at most 100 characters."), field="name")
    perms = sorted(set(permissions))
    if not perms:
        raise InvalidInput(_("Choose at least one permission."), field="permissions")
    unknown = [p for p in perms if p not in ApiPermission.values]
    if unknown:
        raise InvalidInput(
            _("Unknown permission: %(permissions)s.") % {"permissions": ", ".join(unknown)},
            field="permissions",
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(_("The expiry must be in the future."), field="expires_at")
    return name, perms


def do_create_api_key(
    *, actor: Any, name: str, user: User, permissions: list[str], expires_at: dt.datetime | None = None
) -> tuple[ApiKey, str]:
    """Returns the key row and the raw key, which is shown once and never stored (only its SHA-256)."""
    if actor is not None:
        require_command(actor)
    name, perms = _clean_key_request(name, permissions, expires_at)
    raw = "jd_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name, prefix=raw[:10], key_hash=hash_api_key(raw), user=user, permissions=perms,
            expires_at=expires_at, created_by=actor, updated_by=actor,
        )  # fmt: skip
        audit.record(
            actor=actor, action="org.create_api_key", obj=key,
            changes={"name": name, "user": user.username, "permissions": perms, "prefix": key.prefix},
        )  # fmt: skip
    return key, raw


def do_create_service_key(
    *,
    actor: Any,
    name: str,
    role: str,
    level: str,
    permissions: list[str],
    subdistrict: Subdistrict | None = None,
    community: Community | None = None,
    grid: Grid | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """An API key with its own service account holding `role` in one unit, so a key sees exactly what a
    person with that role there would see. The account has no password and cannot sign in."""
    if actor is not None:
        require_command(actor)
    name, perms = _clean_key_request(name, permissions, expires_at)
    unit = _prepare_grant(actor, role, level, subdistrict, community, grid)
    with transaction.atomic():
        user = User(username=f"svc-{secrets.token_hex(6)}", display_name=name, is_service_account=True)
        user.set_unusable_password()
        user.save()
        audit.record(
            actor=actor, action="org.create_service_account", obj=user,
            changes={"username": user.username, "display_name": name},
        )  # fmt: skip
        _write_grant(actor=actor, user=user, role=role, unit=unit, reason=f"API key {name}")
        return do_create_api_key(actor=actor, name=name, user=user, permissions=perms, expires_at=expires_at)


def do_revoke_api_key(*, actor: Any, key: ApiKey, reason: str = "") -> None:
    if actor is not None:
        require_command(actor)
    if key.revoked_at is not None:
        raise Conflict(_("This key was already revoked."))
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.updated_by = actor
        key.save(update_fields=["revoked_at", "updated_by", "updated_at"])
        audit.record(actor=actor, action="org.revoke_api_key", obj=key, reason=reason,
                     changes={"name": key.name, "prefix": key.prefix})  # fmt: skip


# ---- working groups -------------------------------------------------------------------------------


def _clean_group(
    group: WorkingGroup | None, name: str, lead: User | None, members: Iterable[User]
) -> tuple[str, list[User]]:
    name = name.strip()
    if not name:
        raise InvalidInput(_("The working group needs a name."), field="name")
    if len(name) > 100:
        raise InvalidInput(_("The name has at most 100 characters."), field="name")
    clash = WorkingGroup.objects.filter(name=name)
    if group is not None:
        clash = clash.exclude(pk=group.pk)
    if clash.exists():
        raise Conflict(_("A working group named %(name)s exists.") % {"name": name}, field="name")
    people = list(members)
    for person in ([lead] if lead else []) + people:
        if not person.is_active or person.is_service_account:
            raise InvalidInput(
                _("%(person)s is not an active staff account.") % {"person": person},
                field="lead" if person is lead else "members",
            )
    return name, people


def do_create_working_group(
    *, actor: Any, name: str, duties: str = "", position: int = 0, lead: User | None = None,
    members: Iterable[User] = (),
) -> WorkingGroup:  # fmt: skip
    if actor is not None:
        require_command(actor)
    name, people = _clean_group(None, name, lead, members)
    with transaction.atomic():
        group = WorkingGroup.objects.create(
            name=name, duties=duties.strip(), position=position, lead=lead, created_by=actor, updated_by=actor
        )
        group.members.set(people)
        audit.record(
            actor=actor, action="org.create_working_group", obj=group,
            changes={"name": name, "lead": lead.username if lead else None,
                     "members": sorted(p.username for p in people)},
        )  # fmt: skip
    return group


def do_update_working_group(
    *, actor: Any, group: WorkingGroup, name: str, duties: str = "", position: int = 0,
    lead: User | None = None, members: Iterable[User] = (),
) -> WorkingGroup:  # fmt: skip
    if actor is not None:
        require_command(actor)
    name, people = _clean_group(group, name, lead, members)
    before = {
        "name": group.name, "duties": group.duties, "position": group.position,
        "lead": group.lead.username if group.lead else None,
        "members": sorted(group.members.values_list("username", flat=True)),
    }  # fmt: skip
    after = {
        "name": name, "duties": duties.strip(), "position": position,
        "lead": lead.username if lead else None, "members": sorted(p.username for p in people),
    }  # fmt: skip
    changes = audit.diff(before, after)
    if not changes:
        return group
    with transaction.atomic():
        group.name, group.duties, group.position, group.lead = name, duties.strip(), position, lead
        group.updated_by = actor
        group.save()
        group.members.set(people)
        audit.record(actor=actor, action="org.update_working_group", obj=group, changes=changes)
    return group


def do_export_staff(*, actor: Any, users: Any, filters: dict[str, Any]) -> bytes:
    """The filtered staff list as an Excel workbook (work phones masked); the export is on record."""
    from jiedao.org.exports import staff_workbook

    content, rows = staff_workbook(users)
    with transaction.atomic():
        audit.record(
            actor=actor, action="org.export_staff", object_type="org.user",
            changes={"filters": filters, "rows": rows},
        )  # fmt: skip
    return content
