from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # opened; waiting for transfer, a care team or its first day
    ACTIVE = "active", _("Under the measure")
    MONITORING = (
        "monitoring",
        _("Under the follow-on measure"),
    )  # e.g. home health monitoring after quarantine
    RELEASED = "released", _("Released")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (CaseStatus.PENDING, CaseStatus.ACTIVE, CaseStatus.MONITORING)
