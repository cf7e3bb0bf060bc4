"""Screening: pushed lists and their entries, the key persons they name, verifications and hand-backs."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.core.crypto import EncryptedTextField
from jiedao.core.models import BaseModel
from jiedao.registry.choices import IdType
from jiedao.registry.models import Compound, Household, Person, Scoped
from jiedao.screening.choices import (
    OPEN_STATUSES,
    KeyPersonStatus,
    MatchMethod,
    Outcome,
    RouteMethod,
    Source,
)
from jiedao.work.models import WorkItem


class PushedList(BaseModel):
    """One list pushed down by a city platform (a file upload or an API batch series). A file's digest
    or the sender's `client_key` makes a re-sent list a no-op."""

    title = models.CharField(_("title"), max_length=200)
    issuer = models.CharField(_("issuer"), max_length=100)
    source = models.CharField(_("source"), max_length=32, choices=Source.choices)
    category = models.CharField(_("default category"), max_length=64, blank=True)
    protocol_key = models.CharField(_("protocol"), max_length=64)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    client_key = models.CharField(max_length=100, blank=True)
    rows = models.PositiveIntegerField(default=0)
    committed = models.BooleanField(default=False)
    counts = models.JSONField(default=dict, blank=True)  # what the intake did: matched, new, routed, ...
    # The entries' content, whatever the order or format: the same list sent as another file is a no-op.
    content_digest = models.CharField(max_length=64, blank=True, db_index=True)
    # The record the list was made from, when it was made here (a trace run): what the list page links to.
    basis_label = models.CharField(_("basis"), max_length=200, blank=True)
    basis_url = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["sha256"], condition=models.Q(committed=True) & ~models.Q(sha256=""),
                name="pushed_list_once_per_file",
            ),
            models.UniqueConstraint(
                fields=["created_by", "client_key"], condition=~models.Q(client_key=""),
                name="pushed_list_client_key",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("screening:list", args=[self.pk])


class KeyPerson(Scoped):
    """A person to find and verify: one per person, joined by every entry that names them. Community and
    grid are where the person was routed (empty = the subdistrict dispatch queue)."""

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="key_person")
    category = models.CharField(_("category"), max_length=64)
    protocol_key = models.CharField(_("protocol"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=KeyPersonStatus.choices, default=KeyPersonStatus.DISPATCH
    )
    received_at = models.DateTimeField(_("received"))
    due_at = models.DateTimeField(_("verify by"), db_index=True)
    address_text = models.CharField(_("pushed address"), max_length=200, blank=True)
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    compound = models.ForeignKey(Compound, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    route_method = models.CharField(max_length=16, choices=RouteMethod.choices, default=RouteMethod.NONE)
    # Register persons with the same name near the pushed address, for someone to confirm or dismiss.
    candidates = models.JSONField(default=list, blank=True)
    round = models.PositiveSmallIntegerField(default=1)  # bumped when a new push reopens the person
    routings = models.PositiveSmallIntegerField(default=0)  # bumped at each routing: names its work item
    work_item = models.ForeignKey(
        WorkItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    classified_category = models.CharField(_("classified as"), max_length=64, blank=True)
    measure_type = models.CharField(_("measure"), max_length=32, blank=True)
    measure_start = models.DateField(_("measure starts"), null=True, blank=True)
    measure_end = models.DateField(_("measure ends"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="keyperson_status_due"),
            models.Index(fields=["community", "status", "due_at"], name="keyperson_comm_status"),
            models.Index(fields=["grid", "status", "due_at"], name="keyperson_grid_status"),
            # The ledger's default order (newest pushes first), for the whole subdistrict and per area.
            models.Index(fields=["received_at", "id"], name="keyperson_received"),
            models.Index(fields=["community", "received_at", "id"], name="keyperson_comm_received"),
            models.Index(fields=["grid", "received_at", "id"], name="keyperson_grid_received"),
        ]

    def __str__(self) -> str:
        return self.person.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("screening:key_person", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()


class PushedEntry(BaseModel):
    """One row of a pushed list, as received (document and phone encrypted), and the key person it
    joined; it is seen wherever its key person is."""

    pushed_list = models.ForeignKey(PushedList, on_delete=models.CASCADE, related_name="entries")
    row = models.PositiveIntegerField(_("row"))
    client_key = models.CharField(max_length=100, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=100)
    id_type = models.CharField(max_length=16, choices=IdType.choices, default=IdType.RESIDENT_ID)
    id_number = EncryptedTextField(blank=True)
    id_masked = models.CharField(_("document number"), max_length=32, blank=True)
    phone = EncryptedTextField(blank=True)
    phone_masked = models.CharField(_("phone"), max_length=16, blank=True)
    origin = models.CharField(_("coming from"), max_length=100, blank=True)
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    exposed_at = models.DateTimeField(_("last exposure"), null=True, blank=True)
    address_text = models.CharField(_("address"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=64)
    note = models.CharField(_("note"), max_length=500, blank=True)
    key_person = models.ForeignKey(KeyPerson, on_delete=models.PROTECT, related_name="entries")
    match = models.CharField(_("match"), max_length=16, choices=MatchMethod.choices)
    match_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pushed_list_id", "row"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "client_key"], condition=~models.Q(client_key=""),
                name="pushed_entry_client_key",
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.pushed_list_id}#{self.row} {self.name}"


class Verification(BaseModel):
    """One verification call or visit and what it found."""

    key_person = models.ForeignKey(KeyPerson, on_delete=models.CASCADE, related_name="verifications")
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    where = models.CharField(_("where"), max_length=200, blank=True)
    current_address = models.CharField(_("current address"), max_length=200, blank=True)
    symptoms = models.BooleanField(_("symptoms"), default=False)
    symptom_notes = models.CharField(_("symptom notes"), max_length=200, blank=True)
    last_exposure = models.DateField(_("last exposure"), null=True, blank=True)
    proposed_category = models.CharField(max_length=64, blank=True)
    category = models.CharField(_("category"), max_length=64, blank=True)
    measure_type = models.CharField(_("measure"), max_length=32, blank=True)
    measure_start = models.DateField(null=True, blank=True)
    measure_end = models.DateField(null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class HandBack(BaseModel):
    """A community saying a routed key person is not theirs, and why; the person returns to dispatch."""

    key_person = models.ForeignKey(KeyPerson, on_delete=models.CASCADE, related_name="handbacks")
    community = models.ForeignKey("org.Community", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=500)

    class Meta:
        ordering = ["-created_at", "-pk"]
