"""Reads of the register: scoped querysets, one-row fetches (`access_*`, out of scope → 404) and the
global search by ID (exact), phone (exact), name and address."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from jiedao.core.errors import Forbidden, InvalidInput, NotFound
from jiedao.core.identity import normalize_mobile, parse_resident_id
from jiedao.core.models import AuditEntry
from jiedao.core.scoping import Scope, access, scope_of, scope_q
from jiedao.org.choices import Role
from jiedao.org.models import Community, Grid
from jiedao.registry.choices import IdType
from jiedao.registry.identity import id_lookup_key, phone_lookup_key
from jiedao.registry.models import (
    CareTag,
    Compound,
    Household,
    ImportBatch,
    Person,
    Resident,
)

# Roles that see the register (households and persons, masked); every other role gets 403.
READ_ROLES = (
    Role.COMMAND,
    Role.COMMUNITY_STAFF,
    Role.GRID_WORKER,
    Role.DOCTOR,
    Role.POLICE,
    Role.VOLUNTEER,
    Role.AUDITOR,
)
# Roles that change the register, each within the area where it holds that role.
EDIT_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER)
# Roles that may reveal a full ID number or phone (with a reason, audited).
UNMASK_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.POLICE)
# Roles that import spreadsheets: whole communities at a time.
IMPORT_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF)

SEARCH_LIMIT = 50


def _authenticated(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def role_scope(user: Any, roles: tuple[str, ...]) -> Scope:
    """The area in which `user` holds one of `roles` (empty for anonymous users and system calls)."""
    if not _authenticated(user):
        return Scope()
    return user.scope_for_role(*roles)


def read_scope(user: Any) -> Scope:
    return role_scope(user, READ_ROLES)


def can_read(user: Any) -> bool:
    return _authenticated(user) and user.has_role(*READ_ROLES)


def can_edit(user: Any) -> bool:
    return _authenticated(user) and user.has_role(*EDIT_ROLES)


def can_unmask(user: Any) -> bool:
    return _authenticated(user) and user.has_role(*UNMASK_ROLES)


def can_import(user: Any) -> bool:
    return _authenticated(user) and user.has_role(*IMPORT_ROLES)


def require_reader(user: Any) -> None:
    if not can_read(user):
        raise Forbidden(_("Your role may not view the register."))


def scoped(qs: QuerySet[Any], user: Any) -> QuerySet[Any]:
    """`visible_to(user)`, narrowed to the area where the user holds a register role (a user who is a
    pharmacy clerk in B and a grid worker in A1 sees only A1's register)."""
    qs = qs.visible_to(user)  # type: ignore[attr-defined]
    scope = read_scope(user)
    if scope != scope_of(user):
        qs = qs.filter(scope_q(scope))
    return qs


# ---- querysets ----------------------------------------------------------------------------------


def _current_members_count() -> Subquery:
    return Subquery(
        Resident.objects.filter(household=OuterRef("pk"), moved_out__isnull=True)
        .order_by()
        .values("household")
        .annotate(n=Count("pk"))
        .values("n"),
        output_field=IntegerField(),
    )


def _care_count() -> Subquery:
    return Subquery(
        CareTag.objects.filter(
            person__residencies__household=OuterRef("pk"), person__residencies__moved_out__isnull=True
        )
        .order_by()
        .values("person__residencies__household")
        .annotate(n=Count("person", distinct=True))
        .values("n"),
        output_field=IntegerField(),
    )


def households_visible_to(user: Any) -> QuerySet[Household]:
    """Households in the user's area with what a list row shows (members and care counts)."""
    return (
        scoped(Household.objects.all(), user)
        .select_related("community", "grid", "head", "flat__compound")
        # Outlines are map data, never shown in a list row: leave them in the database.
        .defer(
            "head__id_number",
            "head__phone",
            "head__notes",
            "community__geometry",
            "grid__geometry",
            "flat__compound__geometry",
        )
        .annotate(
            member_count=Coalesce(_current_members_count(), 0),
            care_count=Coalesce(_care_count(), 0),
        )
    )


def current_residencies() -> Prefetch[Any]:
    return Prefetch(
        "residencies",
        queryset=Resident.objects.filter(moved_out__isnull=True).select_related("household"),
        to_attr="current_residencies",
    )


def persons_visible_to(user: Any) -> QuerySet[Person]:
    return (
        scoped(Person.objects.all(), user)
        .select_related("community", "grid")
        .defer("id_number", "phone", "community__geometry", "grid__geometry")
        .prefetch_related("care_tags", current_residencies())
    )


def compounds_visible_to(user: Any) -> QuerySet[Compound]:
    return scoped(Compound.objects.all(), user).select_related("community", "grid")


def communities_for(user: Any, roles: tuple[str, ...] = READ_ROLES) -> QuerySet[Community]:
    scope = role_scope(user, roles)
    if scope.everything:
        return Community.objects.all()
    grid_communities = Grid.objects.filter(pk__in=scope.grid_ids).values("community_id")
    return Community.objects.filter(Q(pk__in=scope.community_ids) | Q(pk__in=grid_communities))


def grids_for(user: Any, roles: tuple[str, ...] = READ_ROLES) -> QuerySet[Grid]:
    scope = role_scope(user, roles)
    qs = Grid.objects.select_related("community")
    if scope.everything:
        return qs.all()
    return qs.filter(Q(community_id__in=scope.community_ids) | Q(pk__in=scope.grid_ids))


# ---- one row ------------------------------------------------------------------------------------


def access_household(user: Any, pk: Any) -> Household:
    require_reader(user)
    qs = scoped(Household.objects.all(), user).select_related(
        "community", "grid", "head", "flat__compound", "flat__entrance__building"
    )
    household: Household = access(qs, user, pk)
    return household


def access_person(user: Any, pk: Any) -> Person:
    require_reader(user)
    qs = scoped(Person.objects.all(), user).select_related("community", "grid")
    person: Person = access(qs.prefetch_related("care_tags"), user, pk)
    return person


def access_resident(user: Any, pk: Any) -> Resident:
    require_reader(user)
    qs = scoped(Resident.objects.all(), user).select_related("household", "person")
    resident: Resident = access(qs, user, pk)
    return resident


def access_import_batch(user: Any, pk: Any) -> ImportBatch:
    if not can_import(user):
        raise Forbidden(_("Only command and community staff may import."))
    scope = role_scope(user, IMPORT_ROLES)
    qs = ImportBatch.objects.filter(scope_q(scope))
    try:
        return qs.get(pk=pk)
    except (ImportBatch.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


# ---- the household file -------------------------------------------------------------------------


def household_members(household: Household, *, current: bool = True) -> list[Resident]:
    qs = (
        Resident.objects.filter(household=household, moved_out__isnull=current)
        .select_related("person__community", "person__grid")
        .prefetch_related("person__care_tags")
        .order_by("moved_in", "pk")
    )
    members = list(qs)
    # The head first, then in the order they moved in.
    members.sort(key=lambda r: (r.relation != "head",))
    return members


def household_history(household: Household, user: Any = None, limit: int = 50) -> list[AuditEntry]:
    """Audit entries about the household and about anyone who ever lived in it and whom the user may
    still see (a former member who moved out of the area takes their later history along)."""
    residents = Resident.objects.filter(household=household)
    if user is not None:
        residents = residents.filter(person__in=scoped(Person.objects.all(), user).values("pk"))
    person_ids = [str(pk) for pk in residents.values_list("person_id", flat=True)]
    return list(
        AuditEntry.objects.filter(
            Q(object_type="registry.household", object_id=str(household.pk))
            | Q(object_type="registry.person", object_id__in=person_ids)
        ).order_by("-id")[:limit]
    )


def person_history(person: Person, limit: int = 50) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type="registry.person", object_id=str(person.pk)).order_by("-id")[
            :limit
        ]
    )


def person_residencies(user: Any, person: Person) -> list[Resident]:
    """Every household the person lived in that the user may see, newest first."""
    return list(
        scoped(Resident.objects.filter(person=person), user)
        .select_related("household")
        .order_by("-moved_out", "-moved_in", "-pk")
    )


def current_household(person: Person) -> Household | None:
    res = (
        Resident.objects.filter(person=person, moved_out__isnull=True)
        .select_related("household")
        .order_by("-moved_in", "-pk")
        .first()
    )
    return res.household if res else None


def find_person_by_document(id_type: str, number: str) -> Person | None:
    """The person holding a normalised document number, whoever may see them (for duplicate checks)."""
    if not number:
        return None
    return Person.objects.filter(id_type=id_type, id_index=id_lookup_key(id_type, number)).first()


def is_visible(user: Any, obj: Any) -> bool:
    if user is None:  # system calls see everything
        return True
    return read_scope(user).covers(obj.community_id, obj.grid_id)


# ---- search -------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    q: str
    kind: str  # "id", "phone", "text" or "" for an empty query
    persons: list[Person] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)
    note: str = ""

    @property
    def empty(self) -> bool:
        return not self.persons and not self.households


def classify_query(q: str) -> tuple[str, str]:
    """("id", normalised ID) / ("phone", normalised mobile) / ("text", q)."""
    text = q.strip()
    compact = re.sub(r"[\s\-]", "", text).upper()
    if len(compact) in (17, 18) and compact[:17].isdigit():
        try:
            return "id", parse_resident_id(compact).number
        except InvalidInput:
            pass
    if re.fullmatch(r"\+?[\d\s\-()]{11,16}", text):
        try:
            return "phone", normalize_mobile(text)
        except InvalidInput:
            pass
    return "text", text


def search(user: Any, q: str) -> SearchResult:
    """Find persons and households within the user's area. A resident ID or a mobile number matches
    exactly through its blind index and never falls through to the name search."""
    require_reader(user)
    q = (q or "").strip()[:100]
    if not q:
        return SearchResult(q=q, kind="")
    kind, value = classify_query(q)
    persons = persons_visible_to(user)
    households = households_visible_to(user)
    if kind == "id":
        found = list(
            persons.filter(id_type=IdType.RESIDENT_ID, id_index=id_lookup_key(IdType.RESIDENT_ID, value))[
                :SEARCH_LIMIT
            ]
        )
        return SearchResult(q=q, kind=kind, persons=found, households=_households_of(households, found))
    if kind == "phone":
        found = list(persons.filter(phone_index=phone_lookup_key(value))[:SEARCH_LIMIT])
        return SearchResult(q=q, kind=kind, persons=found, households=_households_of(households, found))
    from jiedao.registry.filters import text_person_q

    found_persons = list(persons.filter(text_person_q(q))[:SEARCH_LIMIT])
    found_households = list(
        households.filter(Q(address__icontains=q) | Q(flat__address__icontains=q) | Q(file_no__iexact=q))[
            :SEARCH_LIMIT
        ]
    )
    return SearchResult(q=q, kind=kind, persons=found_persons, households=found_households)


def _households_of(households: QuerySet[Household], persons: list[Person]) -> list[Household]:
    if not persons:
        return []
    # An IN over the few matching residents' households, not an EXISTS per household in scope: SQLite
    # would otherwise walk every household in the area (100 ms at 500,000 persons; 2 ms this way).
    members = Resident.objects.filter(person__in=[p.pk for p in persons], moved_out__isnull=True)
    return list(households.filter(pk__in=members.values("household_id"))[:SEARCH_LIMIT])
