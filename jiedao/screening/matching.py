"""Matching checked entries to the register, joining them to key persons and routing those to a
community and grid — a chunk at a time, with a fixed number of queries per chunk (never one per row).

Matching: by document number (blind index), then by phone (only when neither side has a different
document), else a new person is registered so that no one is lost; register residents with the same
name at the pushed address become candidates for someone to confirm.

Routing: by the person's current household; else by the address text to a compound (and building);
else to the subdistrict dispatch queue."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from jiedao.core.identity import mask_id, mask_phone
from jiedao.protocols.registry import get_protocol, verification_due
from jiedao.protocols.schema import Protocol
from jiedao.registry.identity import apply_identity
from jiedao.registry.models import Building, Compound, Person, Resident
from jiedao.screening.choices import OPEN_STATUSES, REOPENABLE, KeyPersonStatus, MatchMethod, RouteMethod
from jiedao.screening.intake import EntryIn
from jiedao.screening.models import HandBack, KeyPerson, PushedEntry, PushedList
from jiedao.work.choices import OPEN_STATUSES as WORK_OPEN
from jiedao.work.choices import Priority
from jiedao.work.models import WorkItem

CHUNK = 900  # ids per IN (...): below SQLite's oldest variable limit
URGENT_HOURS = 12  # verification deadlines this short make the work item high priority


@dataclass(frozen=True)
class Route:
    method: str
    community_id: int | None
    grid_id: int | None
    household_id: int | None = None
    compound_id: int | None = None


NOWHERE = Route(RouteMethod.NONE, None, None)


class AddressRouter:
    """Finds the compound (the longest compound name the address contains) and, when the address names
    a building of it ("3栋", "3幢", "3号楼"), that building's grid. Loaded once per list."""

    _BUILDING = re.compile(r"(\d+)\s*(?:栋|幢|号楼|座)")

    def __init__(self) -> None:
        self.compounds: dict[str, tuple[int, int | None, int | None]] = {}
        for c in Compound.objects.values("pk", "name", "community_id", "grid_id"):
            if len(c["name"]) >= 2:
                self.compounds[c["name"]] = (c["pk"], c["community_id"], c["grid_id"])
        names = sorted(self.compounds, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None
        self.buildings: dict[tuple[int, str], int | None] = {
            (b["compound_id"], b["number"]): b["grid_id"]
            for b in Building.objects.values("compound_id", "number", "grid_id")
        }

    def compound_of(self, address: str) -> int | None:
        if not address or self.pattern is None:
            return None
        m = self.pattern.search(address)
        return self.compounds[m.group(0)][0] if m else None

    def route(self, address: str) -> Route:
        if not address or self.pattern is None:
            return NOWHERE
        m = self.pattern.search(address)
        if not m:
            return NOWHERE
        compound_id, community_id, grid_id = self.compounds[m.group(0)]
        b = self._BUILDING.search(address, m.end())
        if b:
            grid_id = self.buildings.get((compound_id, b.group(1))) or grid_id
        return Route(RouteMethod.ADDRESS, community_id, grid_id, compound_id=compound_id)


def _chunks(items: list[Any], size: int = CHUNK) -> Any:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _homes(person_ids: list[int]) -> dict[int, Route]:
    """Each person's current household, as a route."""
    out: dict[int, Route] = {}
    for ids in _chunks(person_ids):
        rows = (
            Resident.objects.filter(person_id__in=ids, moved_out__isnull=True)
            .order_by("pk")
            .values("person_id", "household_id", "household__community_id", "household__grid_id",
                    "household__flat__compound_id")
        )  # fmt: skip
        for r in rows:
            out[r["person_id"]] = Route(
                RouteMethod.HOUSEHOLD, r["household__community_id"], r["household__grid_id"],
                r["household_id"], r["household__flat__compound_id"],
            )  # fmt: skip
    return out


def _severity(protocol: Protocol, category: str) -> int:
    try:
        return protocol.category(category).verification_deadline_hours
    except Exception:
        return 10**6


def verify_item(kp: KeyPerson, protocol: Protocol) -> WorkItem:
    """The grid worker's work item to verify a routed key person (unsaved)."""
    category = protocol.category(kp.category)
    person = kp.person
    return WorkItem(
        kind="screening.verify",
        title=_("Verify %(name)s (%(category)s)") % {"name": person.name, "category": category.label},
        detail=kp.address_text,
        subject_type="screening.keyperson", subject_id=str(kp.pk), subject_url=kp.get_absolute_url(),
        subject_label=f"{person.name} {person.id_masked}".strip()[:200],
        community_id=kp.community_id, grid_id=kp.grid_id,
        role="grid_worker" if kp.grid_id else "community_staff",
        due_at=kp.due_at,
        priority=Priority.HIGH if category.verification_deadline_hours <= URGENT_HOURS else Priority.NORMAL,
        dedupe_key=f"screening.verify:{kp.pk}:{kp.routings}",
    )  # fmt: skip


def apply_route(kp: KeyPerson, route: Route) -> None:
    kp.community_id = route.community_id
    kp.grid_id = route.grid_id
    kp.household_id = route.household_id
    if route.compound_id:
        kp.compound_id = route.compound_id
    kp.route_method = route.method
    kp.routings += 1
    kp.status = KeyPersonStatus.TO_VERIFY if route.community_id else KeyPersonStatus.DISPATCH


def write_chunk(
    *,
    actor: Any,
    plist: PushedList,
    entries: list[EntryIn],
    router: AddressRouter,
    counts: Counter[str],
) -> list[PushedEntry]:
    """Match, join, route and record one chunk of checked entries (inside the caller's transaction)."""
    from jiedao.work.actions import do_create_work_items, do_move_work_item_due

    user = actor if getattr(actor, "pk", None) else None
    stamp = {"created_by": user, "updated_by": user}
    protocol = get_protocol(plist.protocol_key)

    # 1. The register: by document, then by phone.
    by_doc: dict[tuple[str, str], Any] = {}
    doc_keys = [e.id_index for e in entries if e.id_index]
    for keys in _chunks(doc_keys):
        for d in Person.objects.filter(id_index__in=keys).values("pk", "id_type", "id_index", "name"):
            by_doc[(d["id_type"], d["id_index"])] = d
    matched: dict[int, tuple[int, str, str]] = {}  # entry position → (person id, method, note)
    for i, e in enumerate(entries):
        found = by_doc.get((e.id_type, e.id_index)) if e.id_index else None
        if found is not None:
            note = (
                ""
                if found["name"] == e.name
                else _("Name on the register: %(name)s") % {"name": found["name"]}
            )
            matched[i] = (found["pk"], MatchMethod.ID, note)
    phone_keys = [e.phone_index for i, e in enumerate(entries) if i not in matched and e.phone_index]
    by_phone: dict[str, list[Any]] = {}
    for keys in _chunks(phone_keys):
        for f in Person.objects.filter(phone_index__in=keys).values("pk", "phone_index", "id_index", "name"):
            by_phone.setdefault(f["phone_index"], []).append(f)
    candidates: dict[int, list[int]] = {}
    for i, e in enumerate(entries):
        if i in matched or not e.phone_index:
            continue
        # A phone is shared within families: it identifies a person only when neither side has a
        # document that contradicts the other and exactly one of them has the pushed name; otherwise
        # the people with that phone are candidates for someone to confirm.
        fits = [p for p in by_phone.get(e.phone_index, []) if not (e.id_index and p["id_index"])]
        named = [p for p in fits if p["name"] == e.name]
        if len(named) == 1:
            matched[i] = (named[0]["pk"], MatchMethod.PHONE, "")
        elif fits:
            candidates[i] = [p["pk"] for p in fits]

    # A person found by phone whom the register knows without a document gets the pushed one: the next
    # list that names them by document then finds them too.
    gaps = {matched[i][0]: e for i, e in enumerate(entries) if i in matched and matched[i][1] == MatchMethod.PHONE
            and e.id_index}  # fmt: skip
    if gaps:
        filled = []
        for person in Person.objects.filter(pk__in=list(gaps), id_index=""):
            e = gaps[person.pk]
            apply_identity(person, id_type=e.id_type, id_number=e.id_number, phone=person.phone)
            filled.append(person)
        Person.objects.bulk_update(
            filled, ["id_type", "id_number", "id_index", "id_masked", "sex", "birth_date", "phone", "phone_index",
                     "phone_masked"], batch_size=1000,
        )  # fmt: skip
        counts["documents_filled"] += len(filled)

    # 2. Not on the register: a new person each; residents of the same name at the address are candidates.
    new_people: dict[int, Person] = {}
    compound_of = {i: router.compound_of(e.address) for i, e in enumerate(entries) if i not in matched}
    wanted = {(entries[i].name, c) for i, c in compound_of.items() if c}
    if wanted:
        names = sorted({n for n, _c in wanted})
        compounds = sorted({c for _n, c in wanted})
        same_name: dict[tuple[str, int], list[int]] = {}
        for ns in _chunks(names):
            found_rows = Resident.objects.filter(
                moved_out__isnull=True, person__name__in=ns, household__flat__compound_id__in=compounds
            ).values("person_id", "person__name", "household__flat__compound_id")
            for r in found_rows:
                same_name.setdefault((r["person__name"], r["household__flat__compound_id"]), []).append(
                    r["person_id"]
                )
        for i, c in compound_of.items():
            found = same_name.get((entries[i].name, c or 0), [])
            if found:
                candidates[i] = sorted(set(candidates.get(i, [])) | set(found))
    for i, e in enumerate(entries):
        if i in matched:
            continue
        person = Person(name=e.name, **stamp)
        apply_identity(person, id_type=e.id_type, id_number=e.id_number, phone=e.phone)
        new_people[i] = person
    Person.objects.bulk_create(list(new_people.values()), batch_size=1000)
    for i, person in new_people.items():
        matched[i] = (person.pk, MatchMethod.NEW, "")
    counts["matched_id"] += sum(1 for v in matched.values() if v[1] == MatchMethod.ID)
    counts["matched_phone"] += sum(1 for v in matched.values() if v[1] == MatchMethod.PHONE)
    counts["new_persons"] += len(new_people)

    # 3. Key persons: one per person, joined by every entry naming them.
    person_ids = sorted({v[0] for v in matched.values()})
    existing: dict[int, KeyPerson] = {}
    for ids in _chunks(person_ids):
        existing.update(
            {k.person_id: k for k in KeyPerson.objects.filter(person_id__in=ids).select_related("work_item")}
        )
    homes = _homes(person_ids)
    handed_back = set(
        HandBack.objects.filter(key_person_id__in=[k.pk for k in existing.values()]).values_list(
            "key_person_id", flat=True
        )
    )
    persons = {
        p.pk: p
        for ids in _chunks(person_ids)
        for p in Person.objects.filter(pk__in=ids).only("pk", "name", "id_masked")
    }
    created: list[KeyPerson] = []
    changed: dict[int, KeyPerson] = {}
    earlier: list[KeyPerson] = []  # open key persons whose deadline this list brings forward
    to_route: list[KeyPerson] = []
    route_of: dict[int, Route] = {}
    for i, e in enumerate(entries):
        person_id = matched[i][0]
        due = verification_due(protocol, e.category, plist.received_at)
        kp = existing.get(person_id)
        route = homes.get(person_id) or router.route(e.address)
        if kp is None:
            kp = KeyPerson(
                person_id=person_id, category=e.category, protocol_key=protocol.key, received_at=plist.received_at,
                due_at=due, address_text=e.address, candidates=candidates.get(i, []), **stamp,
            )  # fmt: skip
            apply_route(kp, route)
            existing[person_id] = kp
            created.append(kp)
            to_route.append(kp)
            route_of[id(kp)] = route
            continue
        counts["joined"] += 1
        if kp.status in REOPENABLE:
            # Pushed again after being closed: verify again, as a new round.
            kp.round += 1
            kp.category, kp.due_at, kp.received_at = e.category, due, plist.received_at
            kp.address_text = e.address or kp.address_text
            kp.verified_at, kp.classified_category, kp.measure_type = None, "", ""
            kp.measure_start = kp.measure_end = None
            kp.work_item = None  # the last round's item is done; a new one comes below when routed
            apply_route(kp, route)
            counts["reopened"] += 1
            to_route.append(kp)
            route_of[id(kp)] = route
        elif kp.status == KeyPersonStatus.DISPATCH and route.community_id and kp.pk not in handed_back:
            # Waiting for the dispatcher, and this list says where the person lives: route them now.
            if due < kp.due_at:
                kp.due_at = due
            if _severity(protocol, e.category) < _severity(protocol, kp.category):
                kp.category = e.category
            kp.address_text = e.address or kp.address_text
            apply_route(kp, route)
            to_route.append(kp)
            route_of[id(kp)] = route
        elif kp.status in OPEN_STATUSES:
            if due < kp.due_at:
                kp.due_at = due
                if kp.pk:
                    earlier.append(kp)
            if _severity(protocol, e.category) < _severity(protocol, kp.category):
                kp.category = e.category
            if not kp.address_text and e.address:
                kp.address_text = e.address
        if kp.pk:
            changed[kp.pk] = kp
    KeyPerson.objects.bulk_create(created, batch_size=1000)
    for kp in to_route:
        route = route_of[id(kp)]
        counts[f"routed_{route.method}"] += 1
    counts["key_persons"] += len(created)

    # 4. Work items for the ones routed to a community.
    items = []
    item_owner: list[KeyPerson] = []
    for kp in to_route:
        if kp.community_id:
            kp.person = persons[kp.person_id]
            items.append(verify_item(kp, protocol))
            item_owner.append(kp)
    made = do_create_work_items(actor=actor, items=items)
    new_ids = {id(kp) for kp in created}
    only_item: list[KeyPerson] = []  # created above, in full: only their work item is new
    for kp, item in zip(item_owner, made, strict=True):
        kp.work_item = item
        if id(kp) in new_ids and kp.pk not in changed:
            only_item.append(kp)
        else:
            changed[kp.pk] = kp
    KeyPerson.objects.bulk_update(only_item, ["work_item"], batch_size=1000)
    counts["work_items"] += len(made)
    for kp in earlier:  # rare (a person on two lists), so one action per item is affordable
        old = kp.work_item
        if (
            old is not None
            and old.status in WORK_OPEN
            and old.due_at > kp.due_at
            and (old.role or old.assignee_id)
        ):
            do_move_work_item_due(
                actor=None, item=old, due_at=kp.due_at,
                reason=_("An earlier deadline from the list %(title)s.") % {"title": plist.title},
            )  # fmt: skip
    if changed:
        KeyPerson.objects.bulk_update(
            list(changed.values()),
            ["category", "status", "due_at", "received_at", "address_text", "round", "routings", "community", "grid",
             "household", "compound", "route_method", "work_item", "verified_at", "classified_category",
             "measure_type", "measure_start", "measure_end", "updated_at"],
            batch_size=1000,
        )  # fmt: skip

    # 5. The entries themselves, as received.
    rows: list[PushedEntry] = []
    for i, e in enumerate(entries):
        person_id, method, note = matched[i]
        entry = PushedEntry(
            pushed_list=plist, row=e.row, client_key=e.client_key, content_hash=e.content_hash, name=e.name,
            id_type=e.id_type, id_number=e.id_number, phone=e.phone, origin=e.origin, arrived_at=e.arrived_at,
            exposed_at=e.exposed_at,
            address_text=e.address, category=e.category, note=e.note, key_person=existing[person_id],
            match=method, match_note=note[:200], **stamp,
        )  # fmt: skip
        entry.id_masked, entry.phone_masked = mask_id(e.id_number), mask_phone(e.phone)
        rows.append(entry)
    PushedEntry.objects.bulk_create(rows, batch_size=1000)
    counts["received"] += len(rows)
    counts["needs_review"] += sum(1 for kp in created if kp.candidates)
    return rows
