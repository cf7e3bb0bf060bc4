"""The organisation: subdistrict → communities → grids, staff accounts and their scoped roles."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from jiedao.core.models import BaseModel
from jiedao.core.scoping import Scope, ScopedQuerySet
from jiedao.org.choices import Role, UnitLevel


class Subdistrict(BaseModel):
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=32, unique=True)
    geometry = models.JSONField(_("outline (GeoJSON)"), null=True, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CommunityQuerySet(ScopedQuerySet["Community"]):
    def visible_to(self, user: Any) -> ScopedQuerySet[Community]:
        scope: Scope = user.scope if getattr(user, "is_authenticated", False) else Scope()
        if scope.everything:
            return self.all()
        grid_communities = Grid.objects.filter(pk__in=scope.grid_ids).values("community_id")
        return self.filter(models.Q(pk__in=scope.community_ids) | models.Q(pk__in=grid_communities))


class Community(BaseModel):
    subdistrict = models.ForeignKey(Subdistrict, on_delete=models.PROTECT, related_name="communities")
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=32, unique=True)
    geometry = models.JSONField(_("outline (GeoJSON)"), null=True, blank=True)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "communities"

    def __str__(self) -> str:
        return self.name


class GridQuerySet(ScopedQuerySet["Grid"]):
    def visible_to(self, user: Any) -> ScopedQuerySet[Grid]:
        scope: Scope = user.scope if getattr(user, "is_authenticated", False) else Scope()
        if scope.everything:
            return self.all()
        return self.filter(models.Q(community_id__in=scope.community_ids) | models.Q(pk__in=scope.grid_ids))


class Grid(BaseModel):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="grids")
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=32, unique=True)
    geometry = models.JSONField(_("outline (GeoJSON)"), null=True, blank=True)

    objects = GridQuerySet.as_manager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.community.name} {self.name}"


class User(AbstractUser):
    """A staff account. What it may see comes only from its role assignments."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    work_phone = models.CharField(_("work phone"), max_length=20, blank=True)
    # Service accounts stand behind API keys: no password, never listed as staff.
    is_service_account = models.BooleanField(_("service account"), default=False)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.username

    @functools.cached_property
    def active_assignments(self) -> list[RoleAssignment]:
        return list(self.assignments.filter(active=True).select_related("community", "grid"))

    @functools.cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(a.role for a in self.active_assignments)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @functools.cached_property
    def scope(self) -> Scope:
        everything = False
        communities: set[int] = set()
        grids: set[int] = set()
        for a in self.active_assignments:
            if a.level == UnitLevel.SUBDISTRICT:
                everything = True
            elif a.level == UnitLevel.COMMUNITY and a.community_id:
                communities.add(a.community_id)
            elif a.level == UnitLevel.GRID and a.grid_id:
                grids.add(a.grid_id)
        return Scope(everything=everything, community_ids=frozenset(communities), grid_ids=frozenset(grids))

    @property
    def primary_role(self) -> str:
        order = [r.value for r in Role]
        return min(self.roles, key=order.index) if self.roles else ""

    @property
    def primary_role_label(self) -> str:
        return str(dict(Role.choices).get(self.primary_role, ""))

    def scope_for_role(self, *roles: str) -> Scope:
        """The area in which this user holds one of `roles` (a manager's scope is narrower than a viewer's)."""
        everything = False
        communities: set[int] = set()
        grids: set[int] = set()
        for a in self.active_assignments:
            if a.role not in roles:
                continue
            if a.level == UnitLevel.SUBDISTRICT:
                everything = True
            elif a.level == UnitLevel.COMMUNITY and a.community_id:
                communities.add(a.community_id)
            elif a.grid_id:
                grids.add(a.grid_id)
        return Scope(everything=everything, community_ids=frozenset(communities), grid_ids=frozenset(grids))


class RoleAssignment(BaseModel):
    """A role held in one unit: the subdistrict, a community, or a grid."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    level = models.CharField(_("level"), max_length=16, choices=UnitLevel.choices)
    subdistrict = models.ForeignKey(Subdistrict, null=True, blank=True, on_delete=models.PROTECT)
    community = models.ForeignKey(Community, null=True, blank=True, on_delete=models.PROTECT)
    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.PROTECT)
    active = models.BooleanField(default=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["user_id", "role"]
        constraints = [
            models.CheckConstraint(
                name="assignment_unit_matches_level",
                condition=(
                    models.Q(
                        level="subdistrict",
                        subdistrict__isnull=False,
                        community__isnull=True,
                        grid__isnull=True,
                    )
                    | models.Q(level="community", community__isnull=False, grid__isnull=True)
                    | models.Q(level="grid", grid__isnull=False, community__isnull=False)
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit}"

    @property
    def unit(self) -> Any:
        return self.grid or self.community or self.subdistrict


class ApiKey(BaseModel):
    """A key for systems that call the API. Only its SHA-256 is stored; it acts as `user` (a service
    account holding the key's role) and may use only the permissions listed."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_keys")
    permissions = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class WorkingGroup(BaseModel):
    """One of the command structure's working groups (C1): its written duties, lead and members."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    duties = models.TextField(_("duties"), blank=True)
    lead = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_working_groups"
    )
    members = models.ManyToManyField(User, blank=True, related_name="working_groups")

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name
