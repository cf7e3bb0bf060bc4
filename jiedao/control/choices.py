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


class SiteStatus(models.TextChoices):
    OPEN = "open", _("Taking people")
    CLOSED = "closed", _("Not taking people")


class TransferStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")  # team and vehicle assigned, on the way to pick up
    PICKED_UP = "picked_up", _("Picked up")  # the person is in the vehicle
    HANDED_OVER = "handed_over", _("Handed over")  # at the site, handed to its staff
    CONFIRMED = "confirmed", _("Confirmed by the site")  # the loop is closed
    CANCELLED = "cancelled", _("Cancelled")


OPEN_TRANSFER_STATUSES = (TransferStatus.PLANNED, TransferStatus.PICKED_UP, TransferStatus.HANDED_OVER)


class TestResult(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid, test again")


class SupplyKind(models.TextChoices):
    FOOD = "food", _("Food and daily goods")
    MEDICINE = "medicine", _("Medicine")
    COUNSELLING = "counselling", _("Psychological counselling")
    OTHER = "other", _("Other help")


class SupplyStatus(models.TextChoices):
    OPEN = "open", _("Waiting")
    ASSIGNED = "assigned", _("Assigned")
    DELIVERED = "delivered", _("Delivered")
    HELD = "held", _("On hold")  # cannot be met now: the reason is written, it stays on the list
    CLOSED = "closed", _("Closed with the case")


OPEN_SUPPLY_STATUSES = (SupplyStatus.OPEN, SupplyStatus.ASSIGNED, SupplyStatus.HELD)
