"""The register: persons, and compounds → buildings → entrances → flats → households → residents."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from jiedao.core.crypto import EncryptedTextField
from jiedao.core.identity import mask_id, mask_phone
from jiedao.core.models import BaseModel
from jiedao.core.scoping import ScopedQuerySet
from jiedao.org.models import Community, Grid
from jiedao.registry.choices import CareTagKind, HouseholdStatus, IdType, Relation, Sex


class Scoped(BaseModel):
    """A row that belongs to a community and (usually) a grid; scoping filters on these columns."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class Person(Scoped):
    """Any natural person known to the system. ID number and phone are encrypted; `*_index` columns are
    blind indexes for exact lookup. Community/grid follow the person's current household (or are empty)."""

    id_type = models.CharField(
        _("document type"), max_length=16, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    id_number = EncryptedTextField(_("document number"), blank=True)
    id_index = models.CharField(max_length=40, blank=True, db_index=True)
    id_masked = models.CharField(_("document number"), max_length=32, blank=True)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True)
    phone_index = models.CharField(max_length=40, blank=True, db_index=True)
    phone_masked = models.CharField(_("phone"), max_length=16, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_type", "id_index"],
                condition=~models.Q(id_index=""),
                name="person_unique_document",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id_masked})"

    @property
    def age(self) -> int | None:
        if not self.birth_date:
            return None
        today = dt.date.today()
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))

    def set_masks(self) -> None:
        self.id_masked = mask_id(self.id_number or "")
        self.phone_masked = mask_phone(self.phone or "")


class CareTag(BaseModel):
    """A care need that changes how workers treat a person (e.g. bedridden → home sampling)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="care_tags")
    kind = models.CharField(_("care tag"), max_length=32, choices=CareTagKind.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["kind"]
        constraints = [models.UniqueConstraint(fields=["person", "kind"], name="caretag_unique_per_person")]

    def __str__(self) -> str:
        return self.get_kind_display()


class Compound(Scoped):
    name = models.CharField(_("name"), max_length=100, db_index=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=32, blank=True)  # e.g. resettlement, commercial, old estate
    property_company = models.CharField(_("property company"), max_length=100, blank=True)
    geometry = models.JSONField(_("outline (GeoJSON)"), null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="compound_unique_name")]

    def __str__(self) -> str:
        return self.name


class Building(Scoped):
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="buildings")
    number = models.CharField(_("building"), max_length=20)
    floors = models.PositiveSmallIntegerField(_("floors"), default=1)

    class Meta:
        ordering = ["compound_id", "number"]
        constraints = [models.UniqueConstraint(fields=["compound", "number"], name="building_unique_number")]

    def __str__(self) -> str:
        return f"{self.compound.name} {self.number}栋"


class Entrance(Scoped):
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="entrances")
    number = models.CharField(_("entrance"), max_length=20)

    class Meta:
        ordering = ["building_id", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="entrance_unique_number")]

    def __str__(self) -> str:
        return f"{self.building} {self.number}单元"


class Flat(Scoped):
    entrance = models.ForeignKey(Entrance, on_delete=models.PROTECT, related_name="flats")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="flats")
    floor = models.SmallIntegerField(_("floor"), default=1)
    number = models.CharField(_("flat"), max_length=20)
    address = models.CharField(_("address"), max_length=200, db_index=True)
    area_m2 = models.DecimalField(_("area (m²)"), max_digits=7, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["address"]
        constraints = [models.UniqueConstraint(fields=["entrance", "number"], name="flat_unique_number")]

    def __str__(self) -> str:
        return self.address


class Household(Scoped):
    """One household file (一户一档)."""

    file_no = models.CharField(_("file number"), max_length=32, unique=True)
    flat = models.ForeignKey(Flat, on_delete=models.PROTECT, related_name="households")
    address = models.CharField(_("address"), max_length=200, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=HouseholdStatus.choices, default=HouseholdStatus.LIVING
    )
    head = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["address", "pk"]
        # The list sorts by address within a community or a grid: these serve that ORDER BY ... LIMIT.
        indexes = [
            models.Index(fields=["community", "address", "id"], name="household_comm_addr"),
            models.Index(fields=["grid", "address", "id"], name="household_grid_addr"),
        ]

    def __str__(self) -> str:
        return f"{self.file_no} {self.address}"


class Resident(Scoped):
    """A person living in a household; `moved_out` set means a former resident."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="residents")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="residencies")
    relation = models.CharField(
        _("relation"), max_length=16, choices=Relation.choices, default=Relation.OTHER
    )
    moved_in = models.DateField(_("moved in"), null=True, blank=True)
    moved_out = models.DateField(_("moved out"), null=True, blank=True)

    class Meta:
        ordering = ["household_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "person"],
                condition=models.Q(moved_out__isnull=True),
                name="resident_unique_current",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person.name} @ {self.household.address}"


class ImportBatch(Scoped):
    """One spreadsheet import: the file's digest makes a re-sent file a no-op."""

    kind = models.CharField(max_length=32)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(default=0)
    created = models.JSONField(default=dict, blank=True)
    committed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "sha256"], condition=models.Q(committed=True), name="import_once_per_file"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"


def person_masks(person: Person) -> dict[str, str]:
    return {"id": mask_id(person.id_number or ""), "phone": mask_phone(person.phone or "")}
