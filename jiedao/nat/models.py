"""Nucleic-acid testing: sampling sites, testing rounds, tubes (pooled or single) and the samples in
them, with the log of registrations that makes every replayed item a no-op."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jiedao.core.crypto import EncryptedTextField
from jiedao.core.models import BaseModel
from jiedao.nat.choices import (
    ExemptionReason,
    Industry,
    Op,
    Outcome,
    RoundKind,
    RoundStatus,
    SiteStatus,
    TubeResult,
    TubeStatus,
)
from jiedao.org.models import Community
from jiedao.registry.models import Compound, Person, Scoped


class SamplingSite(Scoped):
    """A place where samples are taken (采样点), with its opening hours, lanes and live queue. The
    public map shows open sites and their queues; nothing personal."""

    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    hours = models.CharField(_("opening hours"), max_length=100, blank=True)
    lanes = models.PositiveSmallIntegerField(_("lanes"), default=1)
    status = models.CharField(_("status"), max_length=16, choices=SiteStatus.choices, default=SiteStatus.OPEN)
    queue_length = models.PositiveIntegerField(_("people waiting"), default=0)
    queue_updated_at = models.DateTimeField(_("queue updated"), null=True, blank=True)
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="sampling_sites")

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["name"], name="sampling_site_unique_name")]

    def __str__(self) -> str:
        return self.name


class TestingRound(BaseModel):
    """A mass-testing round or a routine programme: its window, scope (no communities or compounds =
    the whole subdistrict) and the sites that sample for it."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=RoundKind.choices, default=RoundKind.MASS)
    status = models.CharField(
        _("status"), max_length=16, choices=RoundStatus.choices, default=RoundStatus.OPEN
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    communities = models.ManyToManyField(Community, blank=True, related_name="+")
    compounds = models.ManyToManyField(Compound, blank=True, related_name="+")
    sites = models.ManyToManyField(SamplingSite, blank=True, related_name="rounds")
    # the missing lists go to the grids by hand, or also every N hours while the round is under way
    missing_every_hours = models.PositiveSmallIntegerField(
        _("send the missing lists every (hours)"), null=True, blank=True
    )
    missing_sent_at = models.DateTimeField(_("missing lists last sent"), null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="round_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name


class RoundAssignment(BaseModel):
    """Which site a compound's residents go to in a round (one site per compound and round)."""

    round = models.ForeignKey(TestingRound, on_delete=models.CASCADE, related_name="assignments")
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(SamplingSite, on_delete=models.CASCADE, related_name="assignments")

    class Meta:
        ordering = ["round", "compound__name", "pk"]
        constraints = [models.UniqueConstraint(fields=["round", "compound"], name="round_assignment_once")]

    def __str__(self) -> str:
        return f"{self.compound_id} → {self.site_id}"


class Exemption(BaseModel):
    """A resident in a round's scope who is not expected at a site, with the reason. Bedridden people
    are sampled at home: the work item is the grid's task to do it."""

    round = models.ForeignKey(TestingRound, on_delete=models.CASCADE, related_name="exemptions")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=16, choices=ExemptionReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    work_item = models.ForeignKey(
        "work.WorkItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["round", "pk"]
        constraints = [models.UniqueConstraint(fields=["round", "person"], name="exemption_once")]

    def __str__(self) -> str:
        return f"{self.round_id}: {self.person_id} ({self.reason})"


class KeyIndustryGroup(Scoped):
    """Workers of a key industry (重点行业) tested every `frequency_days`; with a spot-check percentage
    below 100, only that share of the members is drawn each period (the draw is reproducible)."""

    name = models.CharField(_("name"), max_length=100)
    industry = models.CharField(_("industry"), max_length=16, choices=Industry.choices)
    frequency_days = models.PositiveSmallIntegerField(_("test every (days)"), default=7)
    spot_check_percent = models.PositiveSmallIntegerField(_("spot-check share (%)"), default=100)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["name"], name="key_industry_group_unique_name"),
            models.CheckConstraint(
                condition=models.Q(spot_check_percent__gte=1, spot_check_percent__lte=100),
                name="key_industry_group_percent",
            ),
            models.CheckConstraint(
                condition=models.Q(frequency_days__gte=1, frequency_days__lte=90),
                name="key_industry_group_frequency",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class KeyIndustryMember(BaseModel):
    """A person in a key-industry group, with their employer."""

    group = models.ForeignKey(KeyIndustryGroup, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    employer = models.CharField(_("employer"), max_length=100, blank=True)

    class Meta:
        ordering = ["group", "pk"]
        constraints = [models.UniqueConstraint(fields=["group", "person"], name="key_industry_member_once")]

    def __str__(self) -> str:
        return f"{self.group_id}: {self.person_id}"


class ResultBatch(BaseModel):
    """One delivery of results from a laboratory (a file or an API batch). The file's digest or the
    sender's key makes a re-sent batch a no-op that answers as the first time (`report`)."""

    lab = models.CharField(_("laboratory"), max_length=100)
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    client_key = models.CharField(max_length=100, blank=True)
    rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)  # recorded, duplicate, refused, positive
    report = models.JSONField(default=list, blank=True)  # per row: row, barcode, status, field, message

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["sha256"], condition=~models.Q(sha256=""), name="result_batch_once_per_file"
            ),
            models.UniqueConstraint(
                fields=["created_by", "client_key"],
                condition=~models.Q(client_key=""),
                name="result_batch_client_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lab} {self.created_at:%Y-%m-%d %H:%M}"


class Tube(BaseModel):
    """One sampling tube: a barcode, a pool size (1, 5, 10 or 20), the samples in it and, later, its
    result. A tube is open while the sampler adds people and closed once sealed."""

    barcode = models.CharField(_("barcode"), max_length=32, unique=True)
    round = models.ForeignKey(TestingRound, on_delete=models.PROTECT, related_name="tubes")
    site = models.ForeignKey(SamplingSite, on_delete=models.PROTECT, related_name="tubes")
    capacity = models.PositiveSmallIntegerField(_("pool size"))
    members = models.PositiveSmallIntegerField(_("samples"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=TubeStatus.choices, default=TubeStatus.OPEN)
    opened_at = models.DateTimeField(_("opened"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=TubeResult.choices, blank=True)
    result_at = models.DateTimeField(_("result time"), null=True, blank=True)  # tested (检测时间)
    # the lab's receipt (接收时间) and its report (报告时间): reconciling sent = received = tested = reported
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    lab = models.CharField(_("laboratory"), max_length=100, blank=True)
    result_batch = models.ForeignKey(
        ResultBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="tubes"
    )
    # a positive pool's follow-up (alerts, members pushed to screening, re-tests) was done at
    positive_handled_at = models.DateTimeField(null=True, blank=True)
    pushed_list = models.ForeignKey(
        "screening.PushedList", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["round", "site", "opened_at"], name="tube_round_site")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(members__lte=models.F("capacity")), name="tube_not_over_capacity"
            )
        ]

    def __str__(self) -> str:
        return self.barcode


class Sample(BaseModel):
    """One person sampled into one tube in one round. A second sample of the same person in a round
    is allowed only with a reason (a lost tube, an invalid result)."""

    round = models.ForeignKey(TestingRound, on_delete=models.PROTECT, related_name="samples")
    tube = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="samples")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="samples")
    sampled_at = models.DateTimeField(_("sampled"))
    repeat_reason = models.CharField(_("why again"), max_length=200, blank=True)

    class Meta:
        ordering = ["sampled_at", "pk"]
        indexes = [
            models.Index(fields=["round", "person"], name="sample_round_person"),
            models.Index(fields=["person", "sampled_at"], name="sample_person_time"),
        ]

    def __str__(self) -> str:
        return f"{self.tube_id}: {self.person_id}"


class Registration(models.Model):
    """The log of registration items by their client key: a replay of the same key and content gets
    the stored answer; the same key with other content is a conflict, kept for review."""

    client_key = models.CharField(max_length=64, unique=True)
    op = models.CharField(max_length=16, choices=Op.choices)
    content_hash = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    answer = models.JSONField(default=dict)
    tube = models.ForeignKey(Tube, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sample = models.OneToOneField(
        Sample, null=True, blank=True, on_delete=models.SET_NULL, related_name="registration"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.client_key


class RegistrationConflict(models.Model):
    """An item whose key was used before with other content: refused (409) and kept, encrypted, for
    someone to look at."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="conflicts")
    content_hash = models.CharField(max_length=64)
    payload = EncryptedTextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.registration_id}: {self.content_hash[:8]}"


class VoidedPersonCard(models.Model):
    """A person's card made void (lost, or handed to someone else): its code no longer registers them,
    and the next card printed for them carries a new code. The card in use is the number of voided
    ones (0: the first card)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="voided_cards")
    version = models.PositiveIntegerField()  # the card voided: 0 for the first
    reason = models.CharField(_("why"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person", "version"]
        constraints = [models.UniqueConstraint(fields=["person", "version"], name="person_card_voided_once")]

    def __str__(self) -> str:
        return f"{self.person_id} #{self.version}"
