"""Control measure types a protocol may prescribe (GLOSSARY: 集中隔离, 居家隔离, 居家健康监测, 三天两检)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MeasureType(models.TextChoices):
    CENTRAL_QUARANTINE = "CENTRAL_QUARANTINE", _("Centralised quarantine")
    HOME_QUARANTINE = "HOME_QUARANTINE", _("Home quarantine")
    HOME_MONITORING = "HOME_MONITORING", _("Home health monitoring")
    TWO_IN_THREE = "TWO_IN_THREE", _("Two tests in three days")
    NONE = "NONE", _("No control measure")
