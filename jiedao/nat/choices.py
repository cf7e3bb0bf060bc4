from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SiteStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("sampling site", "Open")
    PAUSED = "paused", pgettext_lazy("sampling site", "Paused")
    CLOSED = "closed", pgettext_lazy("sampling site", "Closed")


class RoundKind(models.TextChoices):
    MASS = "mass", _("Mass testing round")
    ROUTINE = "routine", _("Routine programme")


class RoundStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    OPEN = "open", _("Under way")
    CLOSED = "closed", _("Closed")


class TubeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("tube", "Open")
    CLOSED = "closed", pgettext_lazy("tube", "Closed")


class TubeResult(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid, test again")


# Pool sizes a tube may have (1 = single sample, 10 = 10-in-1).
CAPACITIES = (1, 5, 10, 20)


class Op(models.TextChoices):
    """What one registration item does; a sampler's phone sends them in the order they happened."""

    OPEN_TUBE = "open_tube", _("Open a tube")
    SAMPLE = "sample", _("Sample a person")
    CLOSE_TUBE = "close_tube", _("Close a tube")


class Outcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    REFUSED = "refused", _("Refused")


class ExemptionReason(models.TextChoices):
    """Why a resident in a round's scope is not expected at a site. Bedridden people are sampled at
    home (上门采样): their exemption creates a home-sampling work item for their grid."""

    HOME_SAMPLING = "home_sampling", _("Bedridden: home sampling")
    AWAY = "away", _("Away from the subdistrict")
    INFANT = "infant", _("Infant")
    OTHER = "other", _("Other reason")


class Industry(models.TextChoices):
    """Key industries (重点行业) whose workers are tested on a schedule."""

    DELIVERY = "delivery", _("Delivery riders and couriers")
    PHARMACY = "pharmacy", _("Pharmacy staff")
    CLINIC = "clinic", _("Clinic and hospital staff")
    SUPERMARKET = "supermarket", _("Supermarket and market staff")
    CONSTRUCTION = "construction", _("Construction workers")
    TRANSPORT = "transport", _("Drivers and transport staff")
    PROPERTY = "property", _("Property management and security")
    OTHER = "other", _("Other key group")
