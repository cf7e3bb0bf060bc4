"""Spreadsheet import of households and residents: read (xlsx/xls via python-calamine, CSV in utf-8 or
gbk), map the columns (common Chinese and English headers), validate every row with row-and-column
messages, and hand a plan to `actions.do_import_households`, which writes it all or nothing.

Flow on the page: upload → preview → dry run → commit. The uploaded file is kept encrypted under
VAR_DIR/imports/ between the steps and deleted once committed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from jiedao.core.errors import InvalidInput, JiedaoError, TooLarge
from jiedao.core.identity import mask_id, mask_phone, normalize_mobile
from jiedao.core.sheets import (
    RowError,
    cell_text,
    check_size,
    forget_upload,
    id_cell_text,
    keep_upload,
    load_upload,
    read_table,
    sha256_of,
)
from jiedao.org.models import Community, Grid
from jiedao.registry.actions import do_import_households, do_stage_import, normalize_unit
from jiedao.registry.choices import HouseholdStatus, IdType, Relation
from jiedao.registry.identity import id_lookup_key, normalize_document
from jiedao.registry.import_columns import (
    BY_KEY,
    CARE_WORDS,
    COLUMNS,
    ID_TYPE_WORDS,
    RELATION_WORDS,
    TAG_SPLIT,
    Mapping,
    map_columns,
)
from jiedao.registry.models import Flat, Household, ImportBatch, Person
from jiedao.registry.queries import is_visible

PREVIEW_ROWS = 10
MAX_ERRORS = 1000  # listed; the total is always counted
CHUNK = 900  # ids per IN (...) query: below SQLite's oldest variable limit

_text = cell_text
_id_text = id_cell_text

# ---- validation ---------------------------------------------------------------------------------


@dataclass
class PlannedPerson:
    row: int
    name: str
    id_type: str
    id_number: str
    phone: str
    relation: str
    care_tags: list[str]
    notes: str


@dataclass
class PlannedHousehold:
    compound: str
    building: str
    entrance: str
    flat: str
    grid_id: int | None
    first_row: int
    members: list[PlannedPerson] = field(default_factory=list)
    flat_id: int | None = None
    household_id: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.compound, self.building, self.entrance, self.flat)


@dataclass
class ImportPlan:
    filename: str
    rows: int = 0  # data rows read (blank rows skipped)
    mapping: Mapping = field(default_factory=Mapping)
    households: list[PlannedHousehold] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    file_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.error_count

    @property
    def persons(self) -> int:
        return sum(len(h.members) for h in self.households)

    @property
    def new_households(self) -> int:
        return sum(1 for h in self.households if h.household_id is None)

    @property
    def new_flats(self) -> int:
        return sum(1 for h in self.households if h.flat_id is None)

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, column, message))

    def messages(self) -> list[str]:
        return [*self.file_errors, *(str(e) for e in self.errors)]


def validate(rows: list[list[Any]], *, community: Community, actor: Any, filename: str = "") -> ImportPlan:
    """Check every row and build the plan; nothing is written. Duplicates within the file and against
    the register are errors on the later row."""
    plan = ImportPlan(filename=filename)
    plan.mapping = mapping = map_columns(rows)
    if mapping.errors:
        plan.file_errors = list(mapping.errors)
        return plan
    grids = {g.name: g for g in Grid.objects.filter(community=community)}
    grids.update({g.code.upper(): g for g in grids.values()})
    seen_docs: dict[tuple[str, str], int] = {}
    groups: dict[tuple[str, str, str, str], PlannedHousehold] = {}
    heads: dict[tuple[str, str, str, str], int] = {}
    by_index: dict[str, list[tuple[int, str]]] = {}  # id_index → [(row, header)]
    # The place columns' errors, looked up once rather than per row: (key, when empty, when too long).
    place_checks = (
        ("compound", _("The compound is empty."), _("The compound is too long.")),
        ("building", _("The building is empty."), _("The building is too long.")),
        ("flat", _("The flat number is empty."), _("The flat number is too long.")),
    )

    cell = mapping.cell

    for offset, row in enumerate(rows[mapping.header_row :]):
        number = mapping.header_row + offset + 1
        if not any(_text(c) for c in row):
            continue
        plan.rows += 1
        before = plan.error_count

        def err(key: str, message: str, number: int = number) -> None:
            plan.add_error(number, mapping.header(key), message)

        name = _text(cell(row, "name"))
        if not name:
            err("name", _("The name is empty."))
        elif len(name) > 100:
            err("name", _("The name is too long (at most 100 characters)."))

        id_type: str = IdType.RESIDENT_ID
        raw_type = _text(cell(row, "id_type")).lower()
        if raw_type:
            id_type = ID_TYPE_WORDS.get(raw_type, "")
            if not id_type:
                err(
                    "id_type",
                    _(
                        "Unknown document type “%(value)s” (accepted: resident id, passport, hk_macao, taiwan, "
                        "foreign_pr, other)."
                    )
                    % {"value": raw_type},
                )
                id_type = IdType.OTHER
        id_number = ""
        raw_id = cell(row, "id_number")
        try:
            raw_text = _id_text(raw_id) if id_type == IdType.RESIDENT_ID else _text(raw_id)
            if not raw_text:
                raise InvalidInput(_("The document number is empty."))
            id_number = normalize_document(id_type, raw_text)
        except InvalidInput as exc:
            err("id_number", exc.message)

        phone = ""
        raw_phone = _text(cell(row, "phone"))
        if raw_phone:
            try:
                phone = normalize_mobile(raw_phone)
            except InvalidInput as exc:
                err("phone", exc.message)

        place = {}
        for key, empty, too_long in place_checks:
            value = _text(cell(row, key)) if key == "compound" else normalize_unit(cell(row, key))
            if not value:
                err(key, empty)
            elif len(value) > (100 if key == "compound" else 20):
                err(key, too_long)
            place[key] = value
        place["entrance"] = normalize_unit(cell(row, "entrance")) or "1"

        relation: str = Relation.OTHER
        raw_rel = _text(cell(row, "relation")).lower()
        if raw_rel:
            relation = RELATION_WORDS.get(raw_rel, "")
            if not relation:
                err(
                    "relation",
                    _(
                        "Unknown relation “%(value)s” (accepted: head, spouse, child, parent, grandchild, "
                        "grandparent, sibling, tenant, other)."
                    )
                    % {"value": raw_rel},
                )
                relation = Relation.OTHER

        grid_id = None
        raw_grid = _text(cell(row, "grid"))
        if raw_grid:
            grid = grids.get(raw_grid) or grids.get(raw_grid.upper())
            if grid is None:
                names = "、".join(sorted(g.name for g in set(grids.values())))
                if names:
                    message = _(
                        "The community “%(community)s” has no grid “%(grid)s” (its grids: %(names)s)."
                    )
                else:
                    message = _("The community “%(community)s” has no grid “%(grid)s” (it has no grids yet).")
                err("grid", message % {"community": community.name, "grid": raw_grid, "names": names})
            else:
                grid_id = grid.pk

        raw_comm = _text(cell(row, "community"))
        if raw_comm and raw_comm not in (community.name, community.code):
            err(
                "community",
                _("“%(value)s” is not the community being imported, “%(community)s”.")
                % {"value": raw_comm, "community": community.name},
            )

        tags: list[str] = []
        for word in TAG_SPLIT.split(_text(cell(row, "care_tags")).lower()):
            if not word or word in ("无", "否", "none", "-"):
                continue
            kind = CARE_WORDS.get(word)
            if kind is None:
                err(
                    "care_tags",
                    _(
                        "Unknown care tag “%(value)s” (accepted: elderly living alone, disabled, pregnant, "
                        "regular_treatment, infant, bedridden)."
                    )
                    % {"value": word},
                )
            elif kind not in tags:
                tags.append(kind)

        if id_number:
            doc = (id_type, id_number)
            if doc in seen_docs:
                err(
                    "id_number",
                    _("Duplicates row %(row)s (the same document number).") % {"row": seen_docs[doc]},
                )
            else:
                seen_docs[doc] = number
                by_index.setdefault(id_lookup_key(id_type, id_number), []).append((number, id_type))

        if plan.error_count > before or not all(place.values()):
            continue
        hkey = (place["compound"], place["building"], place["entrance"], place["flat"])
        group = groups.get(hkey)
        if group is None:
            group = groups[hkey] = PlannedHousehold(*hkey, grid_id=grid_id, first_row=number)
        elif raw_grid and grid_id != group.grid_id:
            err(
                "grid",
                _("The grid differs from row %(row)s of the same household.") % {"row": group.first_row},
            )
            continue
        if relation == Relation.HEAD:
            if hkey in heads:
                err(
                    "relation", _("Row %(row)s is already the head of this household.") % {"row": heads[hkey]}
                )
                continue
            heads[hkey] = number
        group.members.append(
            PlannedPerson(
                number, name, id_type, id_number, phone, relation, tags, _text(cell(row, "notes"))[:1000]
            )
        )
    if plan.rows == 0:
        plan.file_errors.append(_("The sheet has no data rows."))
        return plan
    plan.households = list(groups.values())
    _check_register(plan, community, actor, by_index, heads)
    return plan


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _check_register(
    plan: ImportPlan,
    community: Community,
    actor: Any,
    by_index: dict[str, list[tuple[int, str]]],
    heads: dict[tuple[str, str, str, str], int],
) -> None:
    """Duplicates against the register, and which flats and households already exist (batched reads)."""
    header = plan.mapping.header("id_number")
    for keys in _chunks(list(by_index)):
        for person in Person.objects.filter(id_index__in=keys).only(
            "pk", "name", "id_type", "id_index", "id_masked", "community_id", "grid_id"
        ):
            for row, id_type in by_index.get(person.id_index, []):
                if id_type != person.id_type:
                    continue
                if is_visible(actor, person):
                    msg = _("Already on the register: %(name)s (%(id)s).") % {
                        "name": person.name,
                        "id": person.id_masked,
                    }
                else:
                    msg = _("This document is already on the register.")
                plan.add_error(row, header, msg)
    # Existing flats of the compounds named in the file, and the households living in them.
    compounds = sorted({h.compound for h in plan.households})
    flats: dict[tuple[str, str, str, str], int] = {}
    for names in _chunks(compounds):
        for f in Flat.objects.filter(community=community, compound__name__in=names).values(
            "pk", "compound__name", "entrance__building__number", "entrance__number", "number"
        ):
            key = (f["compound__name"], f["entrance__building__number"], f["entrance__number"], f["number"])
            flats[key] = f["pk"]
    for h in plan.households:
        h.flat_id = flats.get(h.key)
    living: dict[int, dict[str, Any]] = {}
    flat_ids = [h.flat_id for h in plan.households if h.flat_id]
    for ids in _chunks(flat_ids):
        for hh in (
            Household.objects.filter(flat_id__in=ids)
            .exclude(status=HouseholdStatus.MOVED_OUT)
            .order_by("pk")
            .values("pk", "flat_id", "head_id", "head__name")
        ):
            living[hh["flat_id"]] = dict(hh)  # the newest household at the flat wins
    rel_header = plan.mapping.header("relation")
    for h in plan.households:
        current = living.get(h.flat_id) if h.flat_id else None
        if current is None:
            continue
        h.household_id = current["pk"]
        if current["head_id"] and h.key in heads:
            plan.add_error(
                heads[h.key], rel_header,
                _("The household living there already has a head, %(name)s.") % {"name": current["head__name"]},
            )  # fmt: skip
    plan.errors.sort(key=lambda e: (e.row, e.column))


# ---- the three steps ----------------------------------------------------------------------------


def check_file(filename: str, data: bytes, *, community: Community, actor: Any) -> ImportPlan:
    """Read and validate the whole file (the dry run). File-level problems come back in `file_errors`."""
    try:
        rows = read_table(filename, data)
    except TooLarge:
        raise
    except InvalidInput as exc:
        return ImportPlan(filename=filename, file_errors=[exc.message])
    return validate(rows, community=community, actor=actor, filename=filename)


@dataclass
class Preview:
    mapping: Mapping
    columns: list[tuple[str, str, str]]  # (key, header in the file, field label)
    rows: list[list[str]]
    total_rows: int


def preview(filename: str, data: bytes, n: int = PREVIEW_ROWS) -> Preview:
    """The detected columns and the first rows as they will be read (ID numbers and phones masked)."""
    rows = read_table(filename, data)
    mapping = map_columns(rows)
    order = [c.key for c in COLUMNS if c.key in mapping.columns]
    shown: list[list[str]] = []
    total = 0
    if mapping.header_row:
        for row in rows[mapping.header_row :]:
            if not any(_text(c) for c in row):
                continue
            total += 1
            if len(shown) >= n:
                continue
            out = []
            for key in order:
                idx = mapping.columns[key][0]
                value = row[idx] if idx < len(row) else None
                text = _id_text(value) if key == "id_number" else _text(value)
                if key == "id_number":
                    text = (
                        mask_id(text)
                        if len(text) >= 15 and text.replace("X", "").isdigit()
                        else text[:4] + "…"
                    )
                elif key == "phone":
                    text = mask_phone(text)
                out.append(text)
            shown.append(out)
    columns = [(k, mapping.columns[k][1], BY_KEY[k].label) for k in order]
    return Preview(mapping=mapping, columns=columns, rows=shown, total_rows=total)


def stage_upload(*, actor: Any, community: Community, filename: str, data: bytes) -> ImportBatch:
    """Keep the file (encrypted: it holds ID numbers) and record the batch. The file must at least be a
    readable spreadsheet; column problems are shown on the preview."""
    rows = read_table(filename, data)
    digest = keep_upload(data)
    data_rows = max(0, sum(1 for r in rows if any(_text(c) for c in r)) - 1)
    return do_stage_import(
        actor=actor, community=community, filename=Path(filename).name, sha256=digest, rows=data_rows
    )


def load_staged(batch: ImportBatch) -> bytes:
    return load_upload(batch.sha256)


def already_imported(sha256: str) -> ImportBatch | None:
    return (
        ImportBatch.objects.filter(kind="households", sha256=sha256, committed=True)
        .select_related("created_by")
        .first()
    )


@dataclass
class CommitResult:
    plan: ImportPlan
    counts: dict[str, int] = field(default_factory=dict)
    previous: ImportBatch | None = None  # set when the same file was imported before: nothing changed

    @property
    def ok(self) -> bool:
        return self.previous is not None or (self.plan.ok and bool(self.counts))


def commit_batch(*, actor: Any, batch: ImportBatch, data: bytes) -> CommitResult:
    """Validate again and write everything in one transaction; any error writes nothing. Sending a file
    that was already imported changes nothing and says so."""
    community = Community.objects.get(pk=batch.community_id or 0)
    previous = already_imported(batch.sha256)
    if previous is not None:
        return CommitResult(plan=ImportPlan(filename=batch.filename), previous=previous)
    with transaction.atomic():
        plan = check_file(batch.filename, data, community=community, actor=actor)
        if not plan.ok:
            return CommitResult(plan=plan)
        counts = do_import_households(actor=actor, batch=batch, plan=plan)
    if "already_imported" in counts:
        return CommitResult(plan=plan, previous=ImportBatch.objects.get(pk=counts["already_imported"]))
    transaction.on_commit(lambda: forget_upload(batch.sha256))
    return CommitResult(plan=plan, counts=counts)


# ---- command line -------------------------------------------------------------------------------


def import_file_cli(path: str, *, community_code: str, commit: bool = False, out: Any = None) -> int:
    """`jiedao import FILE --community CODE [--commit]`: dry run by default. Exit status 0 when clean
    (and, with --commit, written), 1 on errors, 2 on bad arguments."""
    import sys

    out = out or sys.stdout
    community = Community.objects.filter(Q(code=community_code) | Q(name=community_code)).first()
    if community is None:
        print(_("No community with code %(code)s.") % {"code": community_code}, file=out)
        return 2
    file = Path(path)
    if not file.is_file():
        print(_("No such file: %(path)s") % {"path": path}, file=out)
        return 2
    try:
        check_size(file.stat().st_size)
        data = file.read_bytes()
        previous = already_imported(sha256_of(data))
        if previous is not None:
            print(
                _("This file was already imported on %(when)s; nothing changed.")
                % {"when": f"{previous.updated_at:%Y-%m-%d %H:%M}"},
                file=out,
            )
            return 0
        if commit:
            with transaction.atomic():
                batch = do_stage_import(
                    actor=None, community=community, filename=file.name, sha256=sha256_of(data), rows=0
                )
                result = commit_batch(actor=None, batch=batch, data=data)
                if not result.ok:
                    transaction.set_rollback(True)  # not even the staged batch stays
            plan = result.plan
        else:
            plan = check_file(file.name, data, community=community, actor=None)
    except JiedaoError as exc:
        print(exc.message, file=out)
        return 1
    for message in plan.messages():
        print(message, file=out)
    if plan.error_count > len(plan.errors):
        print(_("… %(n)s errors in all.") % {"n": plan.error_count}, file=out)
    if not plan.ok:
        print(_("Nothing was written."), file=out)
        return 1
    if not commit:
        summary = _("%(rows)s rows: %(persons)s persons, %(households)s households (%(new)s new)") % {
            "rows": plan.rows,
            "persons": plan.persons,
            "households": len(plan.households),
            "new": plan.new_households,
        }
        print(_("Dry run clean — %(summary)s; add --commit to write.") % {"summary": summary}, file=out)
        return 0
    counts = ", ".join(f"{k}={v}" for k, v in result.counts.items())
    print(_("Imported %(rows)s rows — %(counts)s") % {"rows": plan.rows, "counts": counts}, file=out)
    return 0
