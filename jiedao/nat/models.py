"""Nucleic-acid testing: sampling sites, testing rounds, tubes (pooled or single) and the samples in
them, with the log of registrations that makes every replayed item a no-op."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jiedao.core.crypto import EncryptedTextField
from jiedao.core.models import BaseModel
from jiedao.nat.choices import Op, Outcome, RoundKind, RoundStatus, SiteStatus, TubeResult, TubeStatus
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

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="round_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name


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
    result_at = models.DateTimeField(_("result time"), null=True, blank=True)
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
