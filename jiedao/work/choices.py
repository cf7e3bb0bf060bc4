from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


OPEN_STATUSES = (WorkStatus.OPEN, WorkStatus.IN_PROGRESS)
