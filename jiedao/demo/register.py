"""The demo's register stage: compounds → buildings → entrances → flats → households → residents, with
persons and care tags, written in bulk. Nanhu Shangjing is planned first, then compounds of log-normal
sizes fill every other grid until the residents add up to the requested scale exactly."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from jiedao.core import audit
from jiedao.demo import data
from jiedao.demo.people import household_sizes
from jiedao.demo.state import BuildState
from jiedao.demo.venues import CompoundRef, GridUnit
from jiedao.registry.choices import HouseholdStatus
from jiedao.registry.identity import apply_identity
from jiedao.registry.models import Building, CareTag, Compound, Entrance, Flat, Household, Person, Resident

_NANHU_SCALED_PER = 10_000  # a scaled Nanhu Shangjing has scale/10,000 of the real one's flats
_FLUSH_PERSONS = 4_000  # write the pending rows once this many persons are waiting
_RESIDENTS_PER_COMPOUND = 650
_KIND_LABELS = {
    "resettlement": "安置小区",
    "commercial": "商品房小区",
    "old_estate": "老旧院落",
    "staff_housing": "单位宿舍",
}
_RENTAL_RATES = {"commercial": 0.25, "resettlement": 0.3, "old_estate": 0.2, "staff_housing": 0.1}


@dataclass
class CompoundPlan:
    name: str
    kind: str
    unit: GridUnit
    residents: int
    households: int
    flats: int
    since: dt.date  # when people first moved in
    buildings: list[tuple[int, int, int]] | None = None  # (floors, entrances, flats per floor)
    nanhu: bool = False


@dataclass
class _Pending:
    """Rows waiting for the next bulk write. Children point at parent objects, whose primary keys
    bulk_create fills in, so each flush writes parents before children."""

    compounds: list[tuple[Compound, GridUnit]] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    entrances: list[Entrance] = field(default_factory=list)
    flats: list[Flat] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    care_tags: list[CareTag] = field(default_factory=list)

    def flush(self, state: BuildState) -> None:
        Compound.objects.bulk_create([c for c, _unit in self.compounds])
        for c, unit in self.compounds:
            state.compounds.append(CompoundRef(c.pk, c.name, c.address, unit, c.lat or 0.0, c.lng or 0.0))
        self.compounds.clear()
        batches: list[tuple[Any, list[Any]]] = [
            (Building, self.buildings),
            (Entrance, self.entrances),
            (Flat, self.flats),
            (Person, self.persons),
            (Household, self.households),
            (Resident, self.residents),
            (CareTag, self.care_tags),
        ]
        for model, rows in batches:
            if rows:
                model.objects.bulk_create(rows)
                rows.clear()


def _nanhu_plan(state: BuildState, rng: random.Random) -> CompoundPlan | None:
    assert state.demo_grid is not None
    if state.mode == "none":
        return None
    if state.mode == "exact":
        flats, households = data.NANHU_FLATS, data.NANHU_HOUSEHOLDS
        residents = data.NANHU_MIN_RESIDENTS + rng.randint(80, 260)
        # 10 buildings of 18 floors and 6 of 25–26, two entrances, two flats a landing: 1,324 flats.
        buildings = [(18, 2, 2)] * 10 + [(26, 2, 2)] + [(25, 2, 2)] * 5
    else:
        flats = max(12, round(data.NANHU_FLATS * state.scale / _NANHU_SCALED_PER))
        households = round(flats * data.NANHU_HOUSEHOLDS / data.NANHU_FLATS)
        residents = round(households * 2.45)
        buildings = None
    return CompoundPlan(
        name=data.NANHU_NAME,
        kind="resettlement",
        unit=state.demo_grid,
        residents=residents,
        households=households,
        flats=flats,
        since=dt.date(2019, 1, 8),  # "于2019年1月分房入住"
        buildings=buildings,
        nanhu=True,
    )


def plan_compounds(state: BuildState) -> list[CompoundPlan]:
    rng = state.rng("compounds")
    nanhu = _nanhu_plan(state, rng)
    others = state.scale - (nanhu.residents if nanhu else 0)
    free_units = [u for u in state.units if nanhu is None or u is not nanhu.unit]
    count = max(len(free_units), min(6 * len(state.units), round(others / _RESIDENTS_PER_COMPOUND)))
    if others < 3 * count:
        raise ValueError(f"scale {state.scale:,} is too small to fill every grid")
    units = free_units + [rng.choice(state.units) for _ in range(count - len(free_units))]
    # Sizes vary a lot between compounds: log-normal shares, at least 3 residents each, summing exactly.
    weights = [rng.lognormvariate(0, 0.55) for _ in units]
    spare = others - 3 * count
    shares = [spare * w / sum(weights) for w in weights]
    sizes = [3 + int(s) for s in shares]
    by_remainder = sorted(range(count), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    for i in by_remainder[: others - sum(sizes)]:
        sizes[i] += 1
    kinds = list(data.COMPOUND_KINDS)
    kind_weights = [v[0] for v in data.COMPOUND_KINDS.values()]
    used = {data.NANHU_NAME}
    plans = [nanhu] if nanhu else []
    for unit, residents in zip(units, sizes, strict=True):
        name = data.NANHU_NAME
        while name in used:
            name = rng.choice(data.COMPOUND_PREFIXES) + rng.choice(data.COMPOUND_SUFFIXES)
        used.add(name)
        kind = rng.choices(kinds, weights=kind_weights)[0]
        households = max(-(-residents // 8), min(residents, round(residents / rng.uniform(2.4, 2.8))))
        flats = max(households, round(households / rng.uniform(0.86, 0.97)))
        since = dt.date(rng.randint(1992 if kind == "old_estate" else 2005, 2021), rng.randint(1, 12), 1)
        plans.append(CompoundPlan(name, kind, unit, residents, households, flats, since))
    order = {id(u): i for i, u in enumerate(state.units)}
    plans.sort(key=lambda p: (not p.nanhu, order[id(p.unit)]))
    return plans


def _buildings(plan: CompoundPlan, rng: random.Random) -> list[tuple[int, int, int]]:
    if plan.buildings:
        return plan.buildings
    _share, floors_r, entr_r, per_r, _area = data.COMPOUND_KINDS[plan.kind]
    out: list[tuple[int, int, int]] = []
    remaining = plan.flats
    while remaining > 0:
        entrances, per_floor = rng.randint(*entr_r), rng.randint(*per_r)
        floors = min(rng.randint(*floors_r), -(-remaining // (entrances * per_floor)))
        out.append((floors, entrances, per_floor))
        remaining -= floors * entrances * per_floor
    return out


def build_register(state: BuildState) -> None:
    started = time.perf_counter()
    rng = state.rng("registry")
    pending = _Pending()
    file_seq: Counter[str] = Counter()
    for plan in plan_compounds(state):
        _compound(state, plan, rng, pending, file_seq)
        if len(pending.persons) >= _FLUSH_PERSONS:
            pending.flush(state)
    pending.flush(state)
    counts = {k: state.counts[k] for k in ("compounds", "buildings", "flats", "households", "persons")}
    audit.record(
        actor=None,
        action="demo.build_registry",
        changes={**counts, "care_tags": dict(state.care_counts), "nanhu_shangjing": state.nanhu},
    )
    state.say(
        "registry",
        f"{counts['compounds']:,} compounds, {counts['flats']:,} flats, {counts['households']:,} households, "
        f"{counts['persons']:,} residents",
        started,
    )


def _flats(
    plan: CompoundPlan, compound: Compound, rng: random.Random, pending: _Pending, scoped: dict
) -> tuple[list[Flat], int]:
    area_lo, area_hi = data.COMPOUND_KINDS[plan.kind][4]
    flats: list[Flat] = []
    buildings = _buildings(plan, rng)
    for b_no, (floors, entrances, per_floor) in enumerate(buildings, start=1):
        building = Building(compound=compound, number=str(b_no), floors=floors, **scoped)
        pending.buildings.append(building)
        for e_no in range(1, entrances + 1):
            entrance = Entrance(building=building, number=str(e_no), **scoped)
            pending.entrances.append(entrance)
            for floor in range(1, floors + 1):
                for k in range(1, per_floor + 1):
                    if len(flats) == plan.flats:
                        break  # the last building's top landings stay unbuilt
                    number = f"{floor}{k:02d}"
                    flats.append(
                        Flat(
                            entrance=entrance,
                            compound=compound,
                            floor=floor,
                            number=number,
                            address=f"{plan.name}{b_no}栋{e_no}单元{number}室",
                            area_m2=Decimal(f"{rng.uniform(area_lo, area_hi):.2f}"),
                            **scoped,
                        )
                    )
    pending.flats.extend(flats)
    return flats, len(buildings)


def _compound(
    state: BuildState, plan: CompoundPlan, rng: random.Random, pending: _Pending, file_seq: Counter[str]
) -> None:
    assert state.people is not None
    unit, spec = plan.unit, plan.unit.spec
    # Ids, not objects: assigning a saved object through the descriptor costs more, 10⁵ times over.
    scoped = {"community_id": unit.community.pk, "grid_id": unit.grid.pk}
    u, v = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)
    lng, lat = unit.cell.point(u, v)
    road = spec.roads[0] if plan.nanhu else rng.choice(spec.roads)
    compound = Compound(
        name=plan.name,
        address=f"{data.SUBDISTRICT_NAME}{road}{rng.randint(1, 299)}号",
        kind=_KIND_LABELS[plan.kind],
        property_company=rng.choice(data.PROPERTY_COMPANIES),
        geometry=unit.cell.inner(u - 0.07, v - 0.07, u + 0.07, v + 0.07),
        lat=round(lat, 6),
        lng=round(lng, 6),
        **scoped,
    )
    pending.compounds.append((compound, unit))
    flats, building_count = _flats(plan, compound, rng, pending, scoped)
    sizes = household_sizes(rng, state.people, plan.households, plan.residents)
    occupied = sorted(rng.sample(range(len(flats)), plan.households))
    span = (state.ref - plan.since).days
    for size, flat_index in zip(sizes, occupied, strict=True):
        flat = flats[flat_index]
        rental = rng.random() < _RENTAL_RATES[plan.kind]
        members = state.people.household(size, plan.kind, rental=rental)
        file_seq[spec.abbr] += 1
        # Nanhu Shangjing's 1,263 are the households living there; elsewhere a few are away.
        status = HouseholdStatus.LIVING if plan.nanhu or rng.random() > 0.03 else HouseholdStatus.AWAY
        first_wave = plan.nanhu and not rental  # resettled families moved in together in January 2019
        moved_in = plan.since + dt.timedelta(days=rng.randint(0, 60 if first_wave else span))
        persons = []
        tags: set[str] = set()
        for m in members:
            person = Person(name=m.name, sex=m.sex, birth_date=m.birth, **scoped)
            apply_identity(person, id_type=m.id_type, id_number=m.id_number, phone=m.phone)
            persons.append(person)
            state.digest.update(f"{m.name}\t{m.id_type}\t{m.id_number}\t{m.phone}\n".encode())
            for tag_kind, note in m.tags:
                pending.care_tags.append(CareTag(person=person, kind=tag_kind, note=note))
                state.care_counts[tag_kind] += 1
                tags.add(tag_kind)
        household = Household(
            file_no=f"HY{spec.abbr}{file_seq[spec.abbr]:06d}",
            flat=flat,
            address=flat.address,
            status=status,
            head=persons[0],
            **scoped,
        )
        pending.persons.extend(persons)
        pending.households.append(household)
        for m, person in zip(members, persons, strict=True):
            pending.residents.append(
                Resident(
                    household=household,
                    person=person,
                    relation=m.relation,
                    moved_in=max(moved_in, m.birth),
                    **scoped,
                )
            )
        if unit is state.demo_grid:
            for key in {"", *tags}:
                found = state.demo_households.setdefault(key, [])
                if len(found) < 8:
                    found.append(household)
    unit.residents += plan.residents
    state.counts.update(
        compounds=1,
        buildings=building_count,
        flats=len(flats),
        households=plan.households,
        persons=plan.residents,
    )
    if plan.nanhu:
        state.nanhu = {
            "name": plan.name,
            "community": spec.name,
            "grid": unit.grid.code,
            "mode": state.mode,
            "flats": len(flats),
            "households": plan.households,
            "residents": plan.residents,
        }
