"""Control: a control case per person under a measure, laid out by the protocol, and its status changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.control.choices import (
    OPEN_STATUSES,
    OPEN_SUPPLY_STATUSES,
    OPEN_TRANSFER_STATUSES,
    CaseStatus,
    SiteStatus,
    SupplyKind,
    SupplyStatus,
    TestResult,
    TransferStatus,
)
from jiedao.core.crypto import EncryptedTextField
from jiedao.core.models import BaseModel
from jiedao.registry.models import Household, Person, Scoped
from jiedao.screening.models import KeyPerson


class QuarantineSite(BaseModel):
    """A centralised quarantine site (集中隔离点) with its capacity; people reach it by closed-loop transfer."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    address = models.CharField(_("address"), max_length=200)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    capacity = models.PositiveIntegerField(_("capacity"))
    status = models.CharField(_("status"), max_length=16, choices=SiteStatus.choices, default=SiteStatus.OPEN)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ControlCase(Scoped):
    """One person under one control measure (and its follow-ons), from a basis: the verified key person
    it was opened from. `plan` is the protocol's schedule as data: phases with their days, tests and
    check-in times; a case always has an end date."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="control_cases")
    key_person = models.ForeignKey(KeyPerson, on_delete=models.PROTECT, related_name="control_cases")
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    protocol_key = models.CharField(_("protocol"), max_length=64)
    category = models.CharField(_("category"), max_length=64)
    measure_type = models.CharField(_("measure"), max_length=32)  # the first phase's
    status = models.CharField(
        _("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.PENDING
    )
    start_date = models.DateField(_("starts"))
    end_date = models.DateField(_("ends"), db_index=True)
    plan = models.JSONField(default=dict)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    # Where a centralised quarantine is served: set when a transfer there is confirmed.
    site = models.ForeignKey(
        QuarantineSite, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )

    class Meta:
        ordering = ["end_date", "pk"]
        indexes = [
            models.Index(fields=["status", "end_date"], name="case_status_end"),
            models.Index(fields=["community", "status", "end_date"], name="case_comm_status"),
            models.Index(fields=["grid", "status", "end_date"], name="case_grid_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="case_one_open_per_person",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="case_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person.name} {self.start_date}–{self.end_date}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("control:case", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def phases(self) -> list[dict[str, Any]]:
        return list(self.plan.get("phases", []))

    def day_of(self, today: dt.date | None = None) -> int | None:
        """Day N of the case (day 1 = the start), or None before it starts."""
        today = today or timezone.localdate()
        n = (today - self.start_date).days + 1
        return n if n >= 1 else None

    @property
    def is_past_end(self) -> bool:
        return self.is_open and self.end_date < timezone.localdate()


class CaseChange(BaseModel):
    """One status change of a case and its basis (the record or the reason that justifies it)."""

    case = models.ForeignKey(ControlCase, on_delete=models.CASCADE, related_name="changes")
    from_status = models.CharField(max_length=16, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=CaseStatus.choices)
    basis = models.CharField(_("basis"), max_length=300)

    class Meta:
        ordering = ["created_at", "pk"]


class CareTeamMember(BaseModel):
    """One of the named people of a home case's five-for-one care team (五包一), in one slot."""

    case = models.ForeignKey(ControlCase, on_delete=models.CASCADE, related_name="team")
    slot = models.CharField(_("role in the team"), max_length=32)
    user = models.ForeignKey("org.User", on_delete=models.PROTECT, related_name="care_team_slots")

    class Meta:
        ordering = ["case_id", "slot"]
        constraints = [models.UniqueConstraint(fields=["case", "slot"], name="careteam_one_per_slot")]


class CheckinLink(BaseModel):
    """A personal link (and QR code) with which a person under a home measure reports their own health
    check-ins without an account. The token is kept encrypted (the office may print it again) and found
    by its keyed digest; it ends with the case."""

    case = models.ForeignKey(ControlCase, on_delete=models.CASCADE, related_name="checkin_links")
    token = EncryptedTextField()
    token_index = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def is_live(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and now < self.expires_at


class HealthCheck(BaseModel):
    """One health check-in: temperature and symptoms for one scheduled check-in of a case (the same
    check-in twice is refused), recorded by a team member or by the person through their link."""

    case = models.ForeignKey(ControlCase, on_delete=models.CASCADE, related_name="checkins")
    slot_at = models.DateTimeField(_("check-in due"))
    # Empty while the check-in is missed; a late check-in fills the same row in.
    temperature = models.DecimalField(
        _("temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    by_self = models.BooleanField(default=False)  # through the personal link
    abnormal = models.BooleanField(default=False)
    missed = models.BooleanField(default=False)  # not in within two hours of its time (even if late later)

    class Meta:
        ordering = ["slot_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "slot_at"], name="checkin_once_per_slot")]
        indexes = [
            # The doctor's list: recent missed or abnormal check-ins.
            models.Index(
                fields=["slot_at"], name="checkin_attention",
                condition=models.Q(abnormal=True) | models.Q(missed=True),
            ),
        ]  # fmt: skip


class Transfer(Scoped):
    """A closed-loop transfer (闭环转运) of a case's person to a quarantine site: a team and vehicle pick
    them up, hand them over at the site, and the site confirms; every step is timestamped, so nobody is
    between two places unseen."""

    case = models.ForeignKey(ControlCase, on_delete=models.CASCADE, related_name="transfers")
    site = models.ForeignKey(QuarantineSite, on_delete=models.PROTECT, related_name="transfers")
    status = models.CharField(
        _("status"), max_length=16, choices=TransferStatus.choices, default=TransferStatus.PLANNED
    )
    team = models.CharField(_("escort team"), max_length=200)
    vehicle = models.CharField(_("vehicle"), max_length=30)
    pickup_at = models.DateTimeField(_("pick-up time"))  # planned
    picked_up_at = models.DateTimeField(_("picked up"), null=True, blank=True)
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    received_by = models.CharField(_("received by"), max_length=100, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["pickup_at", "pk"]
        indexes = [models.Index(fields=["status", "pickup_at"], name="transfer_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(status__in=OPEN_TRANSFER_STATUSES),
                name="transfer_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case.person.name} → {self.site.name}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("control:transfer", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TRANSFER_STATUSES

    @property
    def last_step_at(self) -> dt.datetime:
        return self.handed_over_at or self.picked_up_at or self.pickup_at


class CaseTest(BaseModel):
    """The result of the test of one test day of a case, entered by hand (or later from a testing round)."""

    case = models.ForeignKey(ControlCase, on_delete=models.CASCADE, related_name="tests")
    test_date = models.DateField(_("test day"))
    result = models.CharField(_("result"), max_length=16, choices=TestResult.choices)
    sampled_at = models.DateTimeField(_("sampled"), null=True, blank=True)
    lab = models.CharField(_("laboratory"), max_length=100, blank=True)

    class Meta:
        ordering = ["test_date", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "test_date"], name="casetest_one_per_day")]


class SupplyRequest(Scoped):
    """A request for supplies (food, medicine, other) or counselling from a person under control or their
    team: assigned, delivered or held with a reason, never silently dropped."""

    case = models.ForeignKey(ControlCase, on_delete=models.CASCADE, related_name="supply_requests")
    kind = models.CharField(_("kind"), max_length=16, choices=SupplyKind.choices)
    detail = models.CharField(_("what is needed"), max_length=300)
    urgent = models.BooleanField(_("urgent medical need"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=SupplyStatus.choices, default=SupplyStatus.OPEN
    )
    assignee = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="supply_requests"
    )
    by_self = models.BooleanField(default=False)  # through the personal link
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)  # what was delivered, or why held
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    work_item = models.ForeignKey(
        "work.WorkItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-urgent", "created_at", "pk"]
        indexes = [models.Index(fields=["community", "status"], name="supply_comm_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.case.person.name}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("control:supply", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_SUPPLY_STATUSES
