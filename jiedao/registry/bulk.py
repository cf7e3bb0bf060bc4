"""The bulk half of `actions.do_import_households`: writes a validated import plan with a fixed number of
queries per thousand rows (never one per row). Identity columns are filled by `apply_identity`, the
same function the single-row actions use; paths and file numbers follow the same rules as well."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count

from jiedao.org.models import Community
from jiedao.registry.actions import flat_address, floor_of, next_file_no
from jiedao.registry.choices import HouseholdStatus, Relation
from jiedao.registry.identity import apply_identity
from jiedao.registry.models import Building, CareTag, Compound, Entrance, Flat, Household, Person, Resident

BATCH = 1000
CHUNK = 900


def _chunks(items: list[Any], size: int = CHUNK) -> Any:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _common(values: list[int | None]) -> int | None:
    """The one grid shared by every household under a level of the path, or None when they differ."""
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


def write_plan(*, actor: Any, community: Community, plan: Any) -> dict[str, int]:
    actor_id = actor.pk if actor is not None else None
    stamp = {"created_by_id": actor_id, "updated_by_id": actor_id}
    cid = community.pk
    counts = {"compounds": 0, "buildings": 0, "entrances": 0, "flats": 0, "households": 0, "persons": 0}
    todo = [h for h in plan.households if h.flat_id is None]

    # Compounds, buildings, entrances and flats that do not exist yet, level by level.
    grids_by: dict[tuple[Any, ...], list[int | None]] = defaultdict(list)
    for h in todo:
        grids_by[(h.compound,)].append(h.grid_id)
        grids_by[(h.compound, h.building)].append(h.grid_id)
        grids_by[(h.compound, h.building, h.entrance)].append(h.grid_id)

    names = sorted({h.compound for h in todo})
    compounds: dict[str, Compound] = {}
    for chunk in _chunks(names):
        compounds.update({c.name: c for c in Compound.objects.filter(community=community, name__in=chunk)})
    new = [
        Compound(community_id=cid, grid_id=_common(grids_by[(n,)]), name=n, **stamp)
        for n in names
        if n not in compounds
    ]
    Compound.objects.bulk_create(new, batch_size=BATCH)
    compounds.update({c.name: c for c in new})
    counts["compounds"] = len(new)

    buildings: dict[tuple[str, str], Building] = {}
    by_pk = {c.pk: c.name for c in compounds.values()}
    for chunk in _chunks(list(by_pk)):
        for b in Building.objects.filter(compound_id__in=chunk):
            buildings[(by_pk[b.compound_id], b.number)] = b
    wanted_b = sorted({(h.compound, h.building) for h in todo})
    new_b = []
    for c_name, number in wanted_b:
        if (c_name, number) in buildings:
            continue
        c = compounds[c_name]
        grid = _common(grids_by[(c_name, number)]) or c.grid_id
        b = Building(compound=c, number=number, community_id=cid, grid_id=grid, **stamp)
        buildings[(c_name, number)] = b
        new_b.append(b)
    Building.objects.bulk_create(new_b, batch_size=BATCH)
    counts["buildings"] = len(new_b)

    entrances: dict[tuple[str, str, str], Entrance] = {}
    b_key = {b.pk: k for k, b in buildings.items()}
    for chunk in _chunks(list(b_key)):
        for e in Entrance.objects.filter(building_id__in=chunk):
            entrances[(*b_key[e.building_id], e.number)] = e
    new_e = []
    for key in sorted({(h.compound, h.building, h.entrance) for h in todo}):
        if key in entrances:
            continue
        b = buildings[key[:2]]
        grid = _common(grids_by[key]) or b.grid_id
        e = Entrance(building=b, number=key[2], community_id=cid, grid_id=grid, **stamp)
        entrances[key] = e
        new_e.append(e)
    Entrance.objects.bulk_create(new_e, batch_size=BATCH)
    counts["entrances"] = len(new_e)

    new_f = []
    for h in todo:
        e = entrances[(h.compound, h.building, h.entrance)]
        f = Flat(
            entrance=e, compound=compounds[h.compound], number=h.flat, floor=floor_of(h.flat),
            address=flat_address(h.compound, h.building, h.entrance, h.flat), community_id=cid,
            grid_id=h.grid_id or e.grid_id, **stamp,
        )  # fmt: skip
        new_f.append(f)
    Flat.objects.bulk_create(new_f, batch_size=BATCH)
    for h, f in zip(todo, new_f, strict=True):
        h.flat_id = f.pk
    counts["flats"] = len(new_f)

    # Households: reuse the one living at the flat, or open a new file.
    existing_ids = [h.household_id for h in plan.households if h.household_id]
    existing: dict[int, Household] = {}
    for chunk in _chunks(existing_ids):
        existing.update({hh.pk: hh for hh in Household.objects.filter(pk__in=chunk)})
    fresh = [h for h in plan.households if h.household_id is None]
    flats: dict[int, Flat] = {f.pk: f for f in new_f}
    missing = [h.flat_id for h in fresh if h.flat_id not in flats]
    for chunk in _chunks(missing):
        flats.update({f.pk: f for f in Flat.objects.filter(pk__in=chunk)})
    per_flat: dict[int, int] = defaultdict(int)
    for chunk in _chunks([h.flat_id for h in fresh]):
        for row in Household.objects.filter(flat_id__in=chunk).values("flat_id").annotate(n=Count("pk")):
            per_flat[row["flat_id"]] = row["n"]

    # Persons first, so that new households can name their head as they are created.
    persons: list[Person] = []
    placed: list[tuple[Any, Any, Person]] = []  # (planned household, planned person, Person)
    for h in plan.households:
        grid_id = existing[h.household_id].grid_id if h.household_id else flats[h.flat_id].grid_id
        h.grid_id = grid_id
        for m in h.members:
            p = Person(name=m.name, notes=m.notes, community_id=cid, grid_id=grid_id, **stamp)
            apply_identity(p, id_type=m.id_type, id_number=m.id_number, phone=m.phone)
            persons.append(p)
            placed.append((h, m, p))
    Person.objects.bulk_create(persons, batch_size=BATCH)
    counts["persons"] = len(persons)

    heads = {id(h): p for h, m, p in placed if m.relation == Relation.HEAD}
    new_h = []
    for h in fresh:
        flat = flats[h.flat_id]
        n = per_flat[h.flat_id]
        per_flat[h.flat_id] += 1
        hh = Household(
            file_no=next_file_no(community, flat.pk, n), flat=flat, address=flat.address,
            status=HouseholdStatus.LIVING, head=heads.get(id(h)), community_id=cid, grid_id=flat.grid_id,
            **stamp,
        )  # fmt: skip
        new_h.append(hh)
    Household.objects.bulk_create(new_h, batch_size=BATCH)
    for h, hh in zip(fresh, new_h, strict=True):
        h.household_id = hh.pk
    counts["households"] = len(new_h)
    headed = []
    for h in plan.households:
        known = existing.get(h.household_id or 0)
        if known is not None and id(h) in heads:
            known.head = heads[id(h)]
            headed.append(known)
    Household.objects.bulk_update(headed, ["head"], batch_size=BATCH)

    residents = [
        Resident(
            household_id=h.household_id,
            person_id=p.pk,
            relation=m.relation,
            community_id=cid,
            grid_id=h.grid_id,
            **stamp,
        )
        for h, m, p in placed
    ]
    Resident.objects.bulk_create(residents, batch_size=BATCH)
    tags = [CareTag(person_id=p.pk, kind=k, **stamp) for _, m, p in placed for k in m.care_tags]
    CareTag.objects.bulk_create(tags, batch_size=BATCH)
    counts["residents"] = len(residents)
    counts["care_tags"] = len(tags)
    return counts
