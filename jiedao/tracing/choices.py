from django.db import models
from django.utils.translation import gettext_lazy as _

from jiedao.tracing import rules


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class Relation(models.TextChoices):
    """What a contact is to the index case (rules.RELATIONS)."""

    CLOSE = rules.CLOSE, _("Close contact")
    SECONDARY = rules.SECONDARY, _("Secondary close contact")
    COMPANION = rules.COMPANION, _("Spatio-temporal companion")


class Stage(models.TextChoices):
    """Where a running trace is; the page shows it beside the progress bar."""

    QUEUED = "queued", _("Waiting for a worker")
    CHECKINS = "checkins", _("Adding the latest venue check-ins")
    MATCHING = "matching", _("Matching presence records")
    SAVING = "saving", _("Saving the contacts")
    DONE = "done", _("Finished")
