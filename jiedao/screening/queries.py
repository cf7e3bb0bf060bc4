"""Reads for screening: who sees which key person and list, the per-list counts, and one-row access."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core.errors import Forbidden, NotFound, Unauthenticated
from jiedao.core.scoping import Scope, scope_q
from jiedao.org.choices import Role
from jiedao.screening.choices import OPEN_STATUSES, VERIFIED_STATUSES, KeyPersonStatus
from jiedao.screening.models import HandBack, KeyPerson, PushedEntry, PushedList

# Roles that see key persons in their area.
READ_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.POLICE, Role.DOCTOR, Role.AUDITOR)
# Roles that verify key persons in their area.
VERIFY_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER)
# Roles that hand a person back to dispatch (the community's office) and that route from dispatch.
HAND_BACK_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF)
DISPATCH_ROLES = (Role.COMMAND,)
# Roles that receive pushed lists for the whole subdistrict, and that read them.
INTAKE_ROLES = (Role.COMMAND,)
LIST_READ_ROLES = (Role.COMMAND, Role.AUDITOR)


def _authenticated(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def role_scope(user: Any, roles: tuple[str, ...]) -> Scope:
    if not _authenticated(user):
        return Scope()
    return user.scope_for_role(*roles)


def can(user: Any, roles: tuple[str, ...]) -> bool:
    return _authenticated(user) and user.has_role(*roles)


def can_in_area(user: Any, roles: tuple[str, ...], kp: KeyPerson) -> bool:
    """`user` holds one of `roles` where the key person is (dispatch: subdistrict roles only)."""
    return can(user, roles) and role_scope(user, roles).covers(kp.community_id, kp.grid_id)


def key_persons_visible_to(user: Any) -> QuerySet[KeyPerson]:
    if not can(user, READ_ROLES):
        return KeyPerson.objects.none()
    scope = role_scope(user, READ_ROLES)
    # The units' outlines (GeoJSON) are for maps, not for rows that show a unit's name.
    return (
        KeyPerson.objects.filter(scope_q(scope))
        .select_related("person", "community", "grid")
        .defer("community__geometry", "grid__geometry")
    )


def access_key_person(user: Any, pk: Any) -> KeyPerson:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    try:
        return key_persons_visible_to(user).get(pk=pk)
    except (KeyPerson.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def lists_visible_to(user: Any) -> QuerySet[PushedList]:
    """Lists are the subdistrict's: only its command centre and auditors read them whole."""
    if not can(user, LIST_READ_ROLES) or not role_scope(user, LIST_READ_ROLES).everything:
        return PushedList.objects.none()
    return PushedList.objects.filter(committed=True)


def access_pushed_list(user: Any, pk: Any, *, committed: bool = True) -> PushedList:
    if not _authenticated(user):
        raise Unauthenticated(_("Please sign in."))
    if not can(user, LIST_READ_ROLES) or not role_scope(user, LIST_READ_ROLES).everything:
        raise NotFound(_("Not found."))
    try:
        return PushedList.objects.get(pk=pk, committed=committed)
    except (PushedList.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def require(user: Any, roles: tuple[str, ...], message: str) -> None:
    if not can(user, roles):
        raise Forbidden(message)


def list_stats(list_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per list: received, matched (on the register), routed (to a community), verified, overdue (open
    past the deadline) and handed back — counted over its entries' key persons, in one query."""
    now = timezone.now()
    handed = HandBack.objects.filter(key_person=OuterRef("key_person"))
    rows = (
        PushedEntry.objects.filter(pushed_list_id__in=list_ids)
        .annotate(handed=Exists(handed))
        .values("pushed_list_id")
        .annotate(
            received=Count("pk"),
            matched=Count("pk", filter=Q(match__in=("id", "phone", "confirmed"))),
            routed=Count("pk", filter=Q(key_person__community__isnull=False)),
            verified=Count("pk", filter=Q(key_person__status__in=VERIFIED_STATUSES)),
            classified=Count("pk", filter=Q(key_person__status=KeyPersonStatus.CLASSIFIED)),
            overdue=Count("pk", filter=Q(key_person__status__in=OPEN_STATUSES, key_person__due_at__lt=now)),
            dispatch=Count("pk", filter=Q(key_person__status=KeyPersonStatus.DISPATCH)),
            handed_back=Count("pk", filter=Q(handed=True)),
        )
    )
    keys = ("received", "matched", "routed", "verified", "classified", "overdue", "dispatch", "handed_back")
    out = {pk: dict.fromkeys(keys, 0) for pk in list_ids}
    for r in rows:
        out[r["pushed_list_id"]] = {k: r[k] for k in keys}
    return out


def overdue_q(now: Any = None) -> Q:
    return Q(status__in=OPEN_STATUSES, due_at__lt=now or timezone.now())


def sources_of(kp: KeyPerson) -> QuerySet[PushedEntry]:
    """Every entry that named this person, oldest list first."""
    return kp.entries.select_related("pushed_list").order_by("pushed_list__received_at", "pk")


def labelled(entries: Any) -> list[PushedEntry]:
    """Entries with `category_label` set, for pages."""
    from jiedao.screening.exports import category_label

    out = list(entries)
    for e in out:
        e.category_label = category_label(e.pushed_list.protocol_key, e.category)  # type: ignore[attr-defined]
    return out


def result_entries(plist: PushedList) -> QuerySet[PushedEntry]:
    """A list's entries with what became of them (key person, last verification first, hand-backs), by
    row: the feedback up the chain, for the page, the export and the API alike."""
    from django.db.models import Prefetch

    from jiedao.screening.models import Verification

    return (
        plist.entries.select_related("key_person", "key_person__community", "key_person__grid")
        .prefetch_related(
            Prefetch(
                "key_person__verifications", queryset=Verification.objects.order_by("-created_at", "-pk")
            ),
            Prefetch("key_person__handbacks", queryset=HandBack.objects.select_related("community")),
        )
        .order_by("row", "pk")
    )
