"""The staff list's filters and sort keys, shared by the page and its Excel export."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from jiedao.org.models import RoleAssignment, User

STAFF_SORTABLE = {
    "name": "display_name",
    "username": "username",
    "last_login": "last_login",
    "joined": "date_joined",
    "active": "is_active",
}
STAFF_DEFAULT_SORT = "name"


def filter_staff(qs: QuerySet[User], filters: dict[str, Any]) -> QuerySet[User]:
    """`filters` as cleaned by StaffFilterForm: q, role, community, active ("yes"/"no")."""
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(display_name__icontains=q) | Q(username__icontains=q))
    role, community = filters.get("role"), filters.get("community")
    if role or community:
        # Role and community must match on the same active assignment ("grid worker in Longhe").
        held = RoleAssignment.objects.filter(user=OuterRef("pk"), active=True)
        if role:
            held = held.filter(role=role)
        if community:
            held = held.filter(community_id=community)
        qs = qs.filter(Exists(held))
    active = filters.get("active")
    if active == "yes":
        qs = qs.filter(is_active=True)
    elif active == "no":
        qs = qs.filter(is_active=False)
    return qs
