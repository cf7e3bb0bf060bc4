"""Trace runs the command centre starts from a case, and the contacts each run found with their
evidence. The presence records themselves live in Parquet (store.py), not in the database."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from jiedao.control.models import ControlCase
from jiedao.core.models import BaseModel
from jiedao.places.models import Place
from jiedao.registry.models import Person
from jiedao.screening.models import PushedList
from jiedao.tracing.choices import Relation, RunStatus, Stage


class TraceRun(BaseModel):
    """One run of the tracing engine: its index cases, the rules as run, progress and what it found.
    `index_cases` is [{person_key, onset (ISO, UTC), name, case_id}]; `report` holds what the engine
    could not use (index cases with no data, empty days, bad records)."""

    case = models.ForeignKey(
        ControlCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="trace_runs"
    )
    index_cases = models.JSONField(default=list)
    rules = models.JSONField(default=dict)
    engine = models.CharField(_("engine"), max_length=16, default="duckdb")
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, default=Stage.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)  # percent
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    counts = models.JSONField(default=dict, blank=True)  # close, secondary, companion, records, ...
    report = models.JSONField(default=dict, blank=True)
    pushed_lists = models.ManyToManyField(PushedList, blank=True, related_name="+")
    pushed_at = models.DateTimeField(_("pushed to screening"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("tracing:run", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def index_names(self) -> str:
        return "、".join(c.get("name") or c["person_key"][:8] for c in self.index_cases)


class TraceContact(models.Model):
    """One (index case, contact, place) of a run with its earliest overlap. `person` is the register's
    person with that key (blind-indexed ID number), if any; `place` the venue with that venue code."""

    run = models.ForeignKey(TraceRun, on_delete=models.CASCADE, related_name="contacts")
    index_key = models.CharField(max_length=64)
    contact_key = models.CharField(max_length=64, db_index=True)
    place_key = models.CharField(_("place"), max_length=64)
    overlap_start = models.DateTimeField(_("together from"))
    overlap_end = models.DateTimeField(_("together until"))
    minutes = models.FloatField(_("minutes"))
    source = models.CharField(_("source"), max_length=16)
    degree = models.PositiveSmallIntegerField(_("degree"))
    relation = models.CharField(_("relation"), max_length=24, choices=Relation.choices)
    via_key = models.CharField(max_length=64, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    via_person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["place_key", "overlap_start", "pk"]
        indexes = [
            models.Index(fields=["run", "place_key", "overlap_start"], name="tracecontact_run_place"),
            models.Index(fields=["run", "relation", "overlap_start"], name="tracecontact_run_rel"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.contact_key} @ {self.place_key}"
