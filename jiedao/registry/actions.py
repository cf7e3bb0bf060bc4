"""Writes to the register. Each action checks that the actor may edit the area, validates, writes
atomically and leaves an audit entry. ID numbers and phones enter audit entries only masked.

`actor=None` is the system (demo builder, `jiedao import` on the command line): no area check."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiedao.org.models import Community, Grid
from jiedao.registry.choices import CareTagKind, HouseholdStatus, IdType, Relation, Sex
from jiedao.registry.identity import apply_identity, normalize_document
from jiedao.registry.models import (
    Building,
    CareTag,
    Compound,
    Entrance,
    Flat,
    Household,
    ImportBatch,
    Person,
    Resident,
)
from jiedao.registry.queries import (
    EDIT_ROLES,
    IMPORT_ROLES,
    UNMASK_ROLES,
    current_household,
    find_person_by_document,
    is_visible,
    read_scope,
    role_scope,
)

# ---- area checks ---------------------------------------------------------------------------------


def _require_area(
    actor: Any, community_id: int | None, grid_id: int | None, roles: tuple[str, ...] = EDIT_ROLES
) -> None:
    """The actor holds one of `roles` where the row lives; visible-but-not-editable is 403, invisible 404."""
    if actor is None:
        return
    scope = role_scope(actor, roles)
    if scope.empty:
        raise Forbidden(_("Your role may not change the register."))
    if scope.covers(community_id, grid_id):
        return
    if read_scope(actor).covers(community_id, grid_id):
        raise Forbidden(_("This record is outside the area you may change."))
    raise NotFound(_("Not found."))


def _check_grid(community: Community, grid: Grid | None) -> None:
    if grid is not None and grid.community_id != community.pk:
        raise InvalidInput(
            _("The grid “%(grid)s” is not in the community “%(community)s”.")
            % {"grid": grid.name, "community": community.name},
            field="grid",
        )


_UNIT_SUFFIX = re.compile(r"(号楼|号|栋|幢|楼|单元|室|房)$")


def normalize_unit(raw: object) -> str:
    """'3栋' → '3', '2单元' → '2', '1203室' → '1203', Excel's 3.0 → '3'."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = ("" if raw is None else str(raw)).strip().replace(" ", "")
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    previous = None
    while previous != text:
        previous = text
        text = _UNIT_SUFFIX.sub("", text)
    return text


def floor_of(flat_number: str) -> int:
    """1203 → 12, 502 → 5; anything else → 1."""
    digits = flat_number if flat_number.isdigit() else ""
    if len(digits) >= 3:
        return int(digits[:-2]) or 1
    return 1


def flat_address(compound: str, building: str, entrance: str, number: str) -> str:
    return f"{compound}{building}栋{entrance}单元{number}号"


# The error for each required field left blank (lazy: the language is the one active when it is raised).
_REQUIRED = {
    "compound": gettext_lazy("The compound is required."),
    "building": gettext_lazy("The building is required."),
    "entrance": gettext_lazy("The entrance is required."),
    "flat": gettext_lazy("The flat number is required."),
    "name": gettext_lazy("The name is required."),
}


def _required(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(str(_REQUIRED[field]), field=field)
    return value


# ---- places: compound → building → entrance → flat ---------------------------------------------


def do_create_compound(
    *,
    actor: Any,
    community: Community,
    name: str,
    grid: Grid | None = None,
    address: str = "",
    kind: str = "",
    property_company: str = "",
) -> Compound:
    name = _required(name, "compound")[:100]
    _check_grid(community, grid)
    _require_area(actor, community.pk, grid.pk if grid else None)
    with transaction.atomic():
        if Compound.objects.filter(community=community, name=name).exists():
            raise Conflict(_("The compound “%(name)s” already exists.") % {"name": name}, field="compound")
        compound = Compound.objects.create(
            community=community, grid=grid, name=name, address=address.strip(), kind=kind,
            property_company=property_company.strip(), created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        audit.record(actor=actor, action="registry.create_compound", obj=compound, changes={"name": name})
    return compound


def do_create_building(
    *, actor: Any, compound: Compound, number: str, floors: int = 1, grid: Grid | None = None
) -> Building:
    number = normalize_unit(_required(number, "building"))[:20]
    grid = grid or compound.grid
    if compound.community is not None:
        _check_grid(compound.community, grid)
    _require_area(actor, compound.community_id, grid.pk if grid else None)
    with transaction.atomic():
        if Building.objects.filter(compound=compound, number=number).exists():
            raise Conflict(
                _("Building %(number)s of %(compound)s already exists.")
                % {"number": number, "compound": compound.name},
                field="building",
            )
        building = Building.objects.create(
            compound=compound, number=number, floors=max(1, floors), community_id=compound.community_id,
            grid=grid, created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        audit.record(actor=actor, action="registry.create_building", obj=building, changes={"number": number})
    return building


def do_create_entrance(*, actor: Any, building: Building, number: str) -> Entrance:
    number = normalize_unit(_required(number, "entrance"))[:20]
    _require_area(actor, building.community_id, building.grid_id)
    with transaction.atomic():
        if Entrance.objects.filter(building=building, number=number).exists():
            raise Conflict(
                _("Entrance %(number)s of %(building)s already exists.")
                % {"number": number, "building": building},
                field="entrance",
            )
        entrance = Entrance.objects.create(
            building=building, number=number, community_id=building.community_id, grid_id=building.grid_id,
            created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        audit.record(actor=actor, action="registry.create_entrance", obj=entrance, changes={"number": number})
    return entrance


def do_create_flat(
    *,
    actor: Any,
    entrance: Entrance,
    number: str,
    floor: int | None = None,
    grid: Grid | None = None,
    area_m2: Any = None,
) -> Flat:
    number = normalize_unit(_required(number, "flat"))[:20]
    building = entrance.building
    compound = building.compound
    grid_id = grid.pk if grid else entrance.grid_id
    _require_area(actor, entrance.community_id, grid_id)
    with transaction.atomic():
        if Flat.objects.filter(entrance=entrance, number=number).exists():
            raise Conflict(
                _("Flat %(number)s of %(entrance)s already exists.")
                % {"number": number, "entrance": entrance},
                field="flat",
            )
        flat = Flat.objects.create(
            entrance=entrance, compound=compound, number=number,
            floor=floor if floor is not None else floor_of(number),
            address=flat_address(compound.name, building.number, entrance.number, number),
            area_m2=area_m2, community_id=entrance.community_id, grid_id=grid_id,
            created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        audit.record(actor=actor, action="registry.create_flat", obj=flat, changes={"address": flat.address})
    return flat


def do_ensure_flat(
    *,
    actor: Any,
    community: Community,
    grid: Grid | None,
    compound: str,
    building: str,
    entrance: str,
    number: str,
    floor: int | None = None,
) -> Flat:
    """The flat at compound/building/entrance/number, creating whichever levels of the path are missing."""
    _check_grid(community, grid)
    _require_area(actor, community.pk, grid.pk if grid else None)
    compound_name = _required(compound, "compound")
    b_no = normalize_unit(_required(building, "building"))
    e_no = normalize_unit(entrance) or "1"
    f_no = normalize_unit(_required(number, "flat"))
    with transaction.atomic():
        c = Compound.objects.filter(community=community, name=compound_name).first() or do_create_compound(
            actor=actor, community=community, name=compound_name, grid=grid
        )
        b = Building.objects.filter(compound=c, number=b_no).first() or do_create_building(
            actor=actor, compound=c, number=b_no, grid=grid
        )
        e = Entrance.objects.filter(building=b, number=e_no).first() or do_create_entrance(
            actor=actor, building=b, number=e_no
        )
        flat = Flat.objects.filter(entrance=e, number=f_no).first() or do_create_flat(
            actor=actor, entrance=e, number=f_no, floor=floor, grid=grid
        )
    return flat


# ---- households ---------------------------------------------------------------------------------


def next_file_no(community: Community, flat_id: int, existing_at_flat: int) -> str:
    return f"{community.code}-{flat_id:06d}-{existing_at_flat + 1}"


def do_create_household(
    *,
    actor: Any,
    flat: Flat,
    status: str = HouseholdStatus.LIVING,
    notes: str = "",
) -> Household:
    if status not in HouseholdStatus.values:
        raise InvalidInput(_("Unknown status %(status)s.") % {"status": status}, field="status")
    _require_area(actor, flat.community_id, flat.grid_id)
    community = Community.objects.get(pk=flat.community_id or 0)
    with transaction.atomic():
        n = Household.objects.filter(flat=flat).count()
        household = Household.objects.create(
            file_no=next_file_no(community, flat.pk, n), flat=flat, address=flat.address, status=status,
            notes=notes.strip(), community_id=flat.community_id, grid_id=flat.grid_id,
            created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        audit.record(
            actor=actor, action="registry.create_household", obj=household,
            changes={"file_no": household.file_no, "address": household.address},
        )  # fmt: skip
    return household


def do_open_household(
    *,
    actor: Any,
    community: Community,
    grid: Grid | None,
    compound: str,
    building: str,
    entrance: str,
    flat: str,
    status: str = HouseholdStatus.LIVING,
    notes: str = "",
    head: dict[str, Any] | None = None,
) -> Household:
    """A new household file at a flat (creating the flat's path as needed), optionally with its head
    (`head` holds do_register_resident's identity arguments)."""
    with transaction.atomic():
        place = do_ensure_flat(
            actor=actor, community=community, grid=grid, compound=compound, building=building,
            entrance=entrance, number=flat,
        )  # fmt: skip
        household = do_create_household(actor=actor, flat=place, status=status, notes=notes)
        if head:
            do_register_resident(actor=actor, household=household, relation=Relation.HEAD, **head)
            household.refresh_from_db()
    return household


# ---- persons ------------------------------------------------------------------------------------


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) else None


def _masked_identity(person: Person) -> dict[str, Any]:
    return {
        "name": person.name,
        "id_type": person.id_type,
        "id_number": person.id_masked,
        "phone": person.phone_masked,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "notes": person.notes,
    }


def _duplicate_document(actor: Any, existing: Person) -> Conflict:
    """Name the existing person only to someone who may see them; otherwise say nothing about them."""
    if is_visible(actor, existing):
        return Conflict(
            _("This document is already registered to %(name)s (%(id)s).")
            % {"name": existing.name, "id": existing.id_masked},
            field="id_number",
            details={"person_id": existing.pk},
        )
    return Conflict(
        _(
            "This document is already on the register and cannot be registered twice; ask the subdistrict office."
        ),
        field="id_number",
    )


def do_register_person(
    *,
    actor: Any,
    name: str,
    id_type: str = IdType.RESIDENT_ID,
    id_number: object = "",
    phone: object = "",
    community: Community | None = None,
    grid: Grid | None = None,
    sex: str | None = None,
    birth_date: dt.date | None = None,
    notes: str = "",
) -> Person:
    """A new person. A resident ID fills sex and birth date; the same document twice is a Conflict."""
    name = _required(name, "name")
    if len(name) > 100:
        raise InvalidInput(_("The name is too long."), field="name")
    if id_type not in IdType.values:
        raise InvalidInput(_("Unknown document type %(type)s.") % {"type": id_type}, field="id_type")
    if id_type != IdType.NONE and not str(id_number or "").strip():
        raise InvalidInput(_("The document number is required."), field="id_number")
    if community is None and actor is not None and not role_scope(actor, EDIT_ROLES).everything:
        raise InvalidInput(_("Choose a community."), field="community")
    if community is not None:
        _check_grid(community, grid)
    _require_area(actor, community.pk if community else None, grid.pk if grid else None)
    person = Person(name=name, notes=notes.strip(), community=community, grid=grid)
    apply_identity(person, id_type=id_type, id_number=id_number, phone=phone)
    if id_type != IdType.RESIDENT_ID:
        if sex is not None:
            if sex not in Sex.values:
                raise InvalidInput(_("Invalid sex."), field="sex")
            person.sex = sex
        person.birth_date = birth_date
    person.created_by = person.updated_by = _user(actor)
    with transaction.atomic():
        existing = find_person_by_document(person.id_type, person.id_number)
        if existing is not None:
            raise _duplicate_document(actor, existing)
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError:  # a concurrent registration of the same document won the race
            raise _duplicate_document(
                actor, find_person_by_document(person.id_type, person.id_number) or person
            )
        audit.record(
            actor=actor, action="registry.register_person", obj=person, changes=_masked_identity(person)
        )
    return person


_KEEP: Any = object()


def do_update_person(
    *,
    actor: Any,
    person: Person,
    name: str | None = None,
    id_type: str | None = None,
    id_number: object = _KEEP,
    phone: object = _KEEP,
    sex: str | None = None,
    birth_date: Any = _KEEP,
    notes: str | None = None,
    reason: str = "",
) -> Person:
    """Change a person's details. `id_number`/`phone` left out keep the stored value; `phone=""` clears it."""
    _require_area(actor, person.community_id, person.grid_id)
    before = _masked_identity(person)
    before_index = (person.id_index, person.phone_index)
    if name is not None:
        name = _required(name, "name")
        if len(name) > 100:
            raise InvalidInput(_("The name is too long."), field="name")
        person.name = name
    new_type = id_type or person.id_type
    if new_type not in IdType.values:
        raise InvalidInput(_("Unknown document type %(type)s.") % {"type": new_type}, field="id_type")
    number = person.id_number if id_number is _KEEP else id_number
    if new_type != person.id_type and id_number is _KEEP:
        raise InvalidInput(
            _("Enter the new document number when changing the document type."), field="id_number"
        )
    if new_type != IdType.NONE and not str(number or "").strip():
        raise InvalidInput(_("The document number is required."), field="id_number")
    apply_identity(
        person, id_type=new_type, id_number=number, phone=person.phone if phone is _KEEP else phone
    )
    if new_type != IdType.RESIDENT_ID:
        if sex is not None:
            if sex not in Sex.values:
                raise InvalidInput(_("Invalid sex."), field="sex")
            person.sex = sex
        if birth_date is not _KEEP:
            person.birth_date = birth_date
    if notes is not None:
        person.notes = notes.strip()
    person.updated_by = _user(actor)
    changes = audit.diff(before, _masked_identity(person))
    # Two numbers can share a mask: the blind index tells whether the number itself changed.
    if before_index[0] != person.id_index:
        changes.setdefault("id_number", [before["id_number"], person.id_masked])
    if before_index[1] != person.phone_index:
        changes.setdefault("phone", [before["phone"], person.phone_masked])
    with transaction.atomic():
        if person.id_index:
            clash = (
                Person.objects.filter(id_type=person.id_type, id_index=person.id_index)
                .exclude(pk=person.pk)
                .first()
            )
            if clash is not None:
                raise _duplicate_document(actor, clash)
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError:
            raise Conflict(_("This document is already on the register."), field="id_number")
        audit.record(actor=actor, action="registry.update_person", obj=person, changes=changes, reason=reason)
    return person


def do_set_care_tags(
    *, actor: Any, person: Person, kinds: Iterable[str], notes: dict[str, str] | None = None, reason: str = ""
) -> list[str]:
    """Replace the person's care tags with `kinds`; returns the tags now held."""
    wanted = sorted(set(kinds))
    unknown = [k for k in wanted if k not in CareTagKind.values]
    if unknown:
        raise InvalidInput(_("Unknown care tag: %(tags)s.") % {"tags": ", ".join(unknown)}, field="care_tags")
    _require_area(actor, person.community_id, person.grid_id)
    notes = notes or {}
    with transaction.atomic():
        current = {t.kind: t for t in CareTag.objects.filter(person=person)}
        removed = [k for k in current if k not in wanted]
        added = [k for k in wanted if k not in current]
        CareTag.objects.filter(person=person, kind__in=removed).delete()
        CareTag.objects.bulk_create(
            [
                CareTag(
                    person=person,
                    kind=k,
                    note=notes.get(k, "")[:200],
                    created_by=_user(actor),
                    updated_by=_user(actor),
                )
                for k in added
            ]
        )
        for k, tag in current.items():
            if k in wanted and k in notes and tag.note != notes[k][:200]:
                tag.note = notes[k][:200]
                tag.updated_by = _user(actor)
                tag.save(update_fields=["note", "updated_by", "updated_at"])
        if added or removed:
            audit.record(
                actor=actor, action="registry.set_care_tags", obj=person, reason=reason,
                changes={"care_tags": [sorted(current), wanted]},
            )  # fmt: skip
    if hasattr(person, "_prefetched_objects_cache"):
        person._prefetched_objects_cache.pop("care_tags", None)
    return wanted


def do_unmask_person(*, actor: Any, person: Person, reason: str) -> dict[str, str]:
    """Reveal the full document number and phone to a permitted actor, with the reason on record."""
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise InvalidInput(_("Give a reason to see the full number."), field="reason")
    _require_area(actor, person.community_id, person.grid_id, UNMASK_ROLES)
    with transaction.atomic():
        audit.record(
            actor=actor, action="registry.unmask_person", obj=person, reason=reason[:500],
            changes={"fields": ["id_number", "phone"], "id_number": person.id_masked},
        )  # fmt: skip
    return {"id_number": person.id_number or "", "phone": person.phone or ""}


# ---- residents ----------------------------------------------------------------------------------


def _sync_person_scope(person: Person, actor: Any) -> None:
    """A person's community and grid follow their current household (or are emptied)."""
    home = current_household(person)
    community_id = home.community_id if home else None
    grid_id = home.grid_id if home else None
    if (person.community_id, person.grid_id) != (community_id, grid_id):
        person.community_id, person.grid_id = community_id, grid_id
        person.updated_by = _user(actor)
        person.save(update_fields=["community", "grid", "updated_by", "updated_at"])


def do_add_resident(
    *,
    actor: Any,
    household: Household,
    person: Person,
    relation: str = Relation.OTHER,
    moved_in: dt.date | None = None,
) -> Resident:
    if relation not in Relation.values:
        raise InvalidInput(_("Unknown relation %(relation)s.") % {"relation": relation}, field="relation")
    _require_area(actor, household.community_id, household.grid_id)
    if person.community_id is not None and not is_visible(actor, person):
        raise NotFound(_("Person not found."))
    with transaction.atomic():
        current = Resident.objects.filter(household=household, moved_out__isnull=True)
        if current.filter(person=person).exists():
            raise Conflict(
                _("%(name)s is already a member of this household.") % {"name": person.name}, field="person"
            )
        if relation == Relation.HEAD and current.filter(relation=Relation.HEAD).exists():
            raise InvalidInput(_("The household already has a head."), field="relation")
        resident = Resident.objects.create(
            household=household, person=person, relation=relation,
            moved_in=moved_in or timezone.localdate(), community_id=household.community_id,
            grid_id=household.grid_id, created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        if relation == Relation.HEAD:
            household.head = person
            household.updated_by = _user(actor)
            household.save(update_fields=["head", "updated_by", "updated_at"])
        _sync_person_scope(person, actor)
        audit.record(
            actor=actor, action="registry.add_resident", obj=household,
            changes={"person": person.pk, "name": person.name, "relation": relation},
        )  # fmt: skip
    return resident


def do_register_resident(
    *,
    actor: Any,
    household: Household,
    name: str,
    id_type: str = IdType.RESIDENT_ID,
    id_number: object = "",
    phone: object = "",
    relation: str = Relation.OTHER,
    moved_in: dt.date | None = None,
    care_tags: Iterable[str] = (),
    sex: str | None = None,
    birth_date: dt.date | None = None,
) -> Resident:
    """Add someone to a household: the person already on the register (if the actor may see them) or
    a newly registered one, with their care tags, in one transaction."""
    _require_area(actor, household.community_id, household.grid_id)
    existing = None
    if id_type != IdType.NONE and str(id_number or "").strip():
        existing = find_person_by_document(id_type, normalize_document(id_type, id_number))
    with transaction.atomic():
        if existing is not None:
            if not is_visible(actor, existing) and existing.community_id is not None:
                raise _duplicate_document(actor, existing)
            person = existing
        else:
            person = do_register_person(
                actor=actor, name=name, id_type=id_type, id_number=id_number, phone=phone,
                community=household.community, grid=household.grid, sex=sex, birth_date=birth_date,
            )  # fmt: skip
        resident = do_add_resident(
            actor=actor, household=household, person=person, relation=relation, moved_in=moved_in
        )
        tags = list(care_tags)
        if tags:
            held = set(CareTag.objects.filter(person=person).values_list("kind", flat=True))
            do_set_care_tags(actor=actor, person=person, kinds=held | set(tags))
    return resident


def do_move_out_resident(
    *, actor: Any, resident: Resident, moved_out: dt.date | None = None, reason: str = ""
) -> Resident:
    _require_area(actor, resident.community_id, resident.grid_id)
    if resident.moved_out is not None:
        raise Conflict(_("This resident has already moved out."))
    day = moved_out or timezone.localdate()
    if resident.moved_in and day < resident.moved_in:
        raise InvalidInput(
            _("The move-out date cannot be before the move-in date %(date)s.") % {"date": resident.moved_in},
            field="moved_out",
        )
    household = resident.household
    person = resident.person
    with transaction.atomic():
        resident.moved_out = day
        resident.updated_by = _user(actor)
        resident.save(update_fields=["moved_out", "updated_by", "updated_at"])
        if household.head_id == person.pk:
            household.head = None
            household.updated_by = _user(actor)
            household.save(update_fields=["head", "updated_by", "updated_at"])
        _sync_person_scope(person, actor)
        audit.record(
            actor=actor, action="registry.move_out_resident", obj=household, reason=reason,
            changes={"person": person.pk, "name": person.name, "moved_out": day.isoformat()},
        )  # fmt: skip
    return resident


# ---- exports ------------------------------------------------------------------------------------


def do_export_households(*, actor: Any, queryset: Any, filters: dict[str, Any]) -> bytes:
    """The masked households ledger as .xlsx; the export itself is on record."""
    from jiedao.registry.exports import households_xlsx

    data, rows = households_xlsx(queryset)
    audit.record(
        actor=actor, action="registry.export_households", object_type="registry.household",
        changes={"filters": filters, "rows": rows},
    )  # fmt: skip
    return data


def do_export_persons(*, actor: Any, queryset: Any, filters: dict[str, Any]) -> bytes:
    from jiedao.registry.exports import persons_xlsx

    data, rows = persons_xlsx(queryset)
    audit.record(
        actor=actor, action="registry.export_persons", object_type="registry.person",
        changes={"filters": filters, "rows": rows},
    )  # fmt: skip
    return data


# ---- imports ------------------------------------------------------------------------------------


def do_stage_import(
    *, actor: Any, community: Community, filename: str, sha256: str, rows: int
) -> ImportBatch:
    """Record an uploaded file awaiting preview, dry run and commit."""
    _require_area(actor, community.pk, None, IMPORT_ROLES)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            kind="households", filename=filename[:255], sha256=sha256, rows=rows, community=community,
            created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        audit.record(
            actor=actor, action="registry.stage_import", obj=batch,
            changes={"filename": batch.filename, "sha256": sha256, "rows": rows},
        )  # fmt: skip
    return batch


def do_import_households(*, actor: Any, batch: ImportBatch, plan: Any) -> dict[str, int]:
    """Write a validated import plan (see importer.py) in bulk, all or nothing; a file already
    imported (same sha256) changes nothing and returns the counts of the first import."""
    from jiedao.registry.bulk import write_plan

    community = Community.objects.get(pk=batch.community_id or 0)
    _require_area(actor, community.pk, None, IMPORT_ROLES)
    with transaction.atomic():
        done = ImportBatch.objects.filter(kind=batch.kind, sha256=batch.sha256, committed=True).first()
        if done is not None:
            return {**done.created, "already_imported": done.pk}
        counts = write_plan(actor=_user(actor), community=community, plan=plan)
        batch.committed = True
        batch.rows = plan.rows
        batch.created = counts
        batch.updated_by = _user(actor)
        try:
            with transaction.atomic():
                batch.save(update_fields=["committed", "rows", "created", "updated_by", "updated_at"])
        except IntegrityError:  # the same file committed concurrently
            raise Conflict(_("This file has already been imported."))
        audit.record(
            actor=actor, action="registry.import_households", obj=batch,
            changes={"filename": batch.filename, "sha256": batch.sha256, **counts},
        )  # fmt: skip
    return counts
