"""Work items: a task with a deadline for a person or a role in an area, created by any module."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.core.models import BaseModel
from jiedao.core.scoping import ScopedQuerySet
from jiedao.org.models import Community, Grid
from jiedao.work.choices import OPEN_STATUSES, Priority, WorkStatus


class WorkItem(BaseModel):
    """One task with a deadline. `subject_*` point at the record it is about (any app's model);
    `role` without `assignee` means "whoever holds this role where the item is"."""

    kind = models.CharField(_("kind"), max_length=50, db_index=True)  # e.g. "registry.verify_household"
    title = models.CharField(_("title"), max_length=200)
    detail = models.TextField(_("detail"), blank=True)
    subject_type = models.CharField(max_length=100, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    subject_url = models.CharField(max_length=300, blank=True)
    subject_label = models.CharField(_("subject"), max_length=200, blank=True)
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items"
    )
    role = models.CharField(_("role"), max_length=32, blank=True)  # for anyone holding this role in the area
    due_at = models.DateTimeField(_("due"), db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=WorkStatus.choices, default=WorkStatus.OPEN)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalated_items",
    )
    dedupe_key = models.CharField(max_length=150, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["status", "due_at"]), models.Index(fields=["assignee", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=~models.Q(dedupe_key=""), name="work_dedupe"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def handled_on_subject(self) -> bool:
        """Finished on its subject's page, not with "Done" (see `sections.register_subject_driven`)."""
        from jiedao.work.sections import is_subject_driven

        return bool(self.subject_url) and is_subject_driven(self.kind)

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()
