"""Huey jobs for door sensors: they call actions."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from jiedao.sensors.actions import do_flag_silent_sensors


@db_periodic_task(crontab(minute="*"))
def flag_silent_sensors() -> int:
    """Every minute: sensors on a door that have gone silent raise an alert (once)."""
    return len(do_flag_silent_sensors())


@db_periodic_task(crontab(minute="17", hour="*"))
def forget_webhook_receipts() -> int:
    """Every hour: signatures older than a day can no longer be replayed (their timestamp is too old)."""
    from jiedao.sensors.models import WebhookReceipt

    return WebhookReceipt.objects.filter(received_at__lt=timezone.now() - dt.timedelta(days=1)).delete()[0]
