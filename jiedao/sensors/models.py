"""Door sensors (智慧门磁): devices, their binding to a quarantined home for a control case, the events
they report (each applied once, keyed by device and sequence number), the windows in which the door may
open, and the alerts followed up to the end."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.control.models import ControlCase
from jiedao.core.crypto import EncryptedTextField
from jiedao.core.models import BaseModel
from jiedao.registry.models import Household, Scoped
from jiedao.sensors.choices import (
    OPEN_ALERT_STATUSES,
    AlertKind,
    AlertStatus,
    CheckMethod,
    DeviceStatus,
    EventKind,
    EventSource,
    WindowSource,
)


class Vendor(BaseModel):
    """A sensor maker whose cloud may forward its devices' events by webhook, signed with its secret."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    secret = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DoorSensor(BaseModel):
    """One door sensor. `secret` signs its webhook events; health comes from its last event."""

    device_id = models.CharField(_("device ID"), max_length=64, unique=True)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="devices")
    model = models.CharField(_("model"), max_length=64, blank=True)
    secret = EncryptedTextField()
    status = models.CharField(
        _("status"), max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.IN_STOCK
    )
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True, db_index=True)
    battery = models.PositiveSmallIntegerField(_("battery (%)"), null=True, blank=True)
    signal = models.SmallIntegerField(_("signal (dBm)"), null=True, blank=True)
    last_seq = models.BigIntegerField(default=0)
    door_open = models.BooleanField(default=False)  # the last door state it reported

    class Meta:
        ordering = ["device_id"]

    def __str__(self) -> str:
        return self.device_id

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("sensors:device", args=[self.pk])


class Binding(Scoped):
    """A device on the door of a home for a control case's period; it ends with the case (or by hand)."""

    device = models.ForeignKey(DoorSensor, on_delete=models.PROTECT, related_name="bindings")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="sensor_bindings")
    case = models.ForeignKey(
        ControlCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="sensor_bindings"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    end_reason = models.CharField(_("why it ended"), max_length=200, blank=True)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(ends_at__isnull=True),
                name="binding_one_open_per_device",
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id} @ {self.household_id}"

    @property
    def is_open(self) -> bool:
        return self.ends_at is None


class SensorEvent(models.Model):
    """One event as the device reported it; (device, seq) is unique, so a redelivery is a no-op."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(DoorSensor, on_delete=models.CASCADE, related_name="events")
    binding = models.ForeignKey(
        Binding, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=8, choices=EventSource.choices)
    battery = models.PositiveSmallIntegerField(null=True, blank=True)
    signal = models.SmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="event_once_per_seq")]
        indexes = [models.Index(fields=["binding", "occurred_at"], name="event_binding_time")]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq} {self.kind}"


class AllowedWindow(BaseModel):
    """A time in which the door of a bound home may open without an alert: home sampling, a delivery,
    or a window the team grants (a hospital visit)."""

    binding = models.ForeignKey(Binding, on_delete=models.CASCADE, related_name="windows")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    source = models.CharField(_("source"), max_length=16, choices=WindowSource.choices)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["binding", "starts_at"], name="window_binding_start")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="window_ends_after"
            )
        ]


class SensorAlert(Scoped):
    """A door opened outside any window, a silent sensor, or a tamper: new → acknowledged → checked (by
    phone or on site, with the outcome) → closed. Its work item escalates if nobody acknowledges it."""

    kind = models.CharField(_("kind"), max_length=16, choices=AlertKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=AlertStatus.choices, default=AlertStatus.NEW
    )
    device = models.ForeignKey(DoorSensor, on_delete=models.PROTECT, related_name="alerts")
    binding = models.ForeignKey(Binding, on_delete=models.PROTECT, related_name="alerts")
    case = models.ForeignKey(
        ControlCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="sensor_alerts"
    )
    event = models.OneToOneField(
        SensorEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="alert"
    )  # the event that raised it (none for a silent sensor)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now, db_index=True)
    occurred_at = models.DateTimeField(_("happened"))
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    checked_by = models.ForeignKey(
        "org.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    check_method = models.CharField(_("checked how"), max_length=16, choices=CheckMethod.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    work_item = models.ForeignKey(
        "work.WorkItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at", "-pk"]
        indexes = [models.Index(fields=["status", "raised_at"], name="alert_status_raised")]
        constraints = [
            # one open "silent sensor" alert per binding at a time
            models.UniqueConstraint(
                fields=["binding"],
                condition=models.Q(kind=AlertKind.OFFLINE, status__in=OPEN_ALERT_STATUSES),
                name="alert_one_open_offline",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.device_id}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("sensors:alert", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ALERT_STATUSES

    def minutes_open(self, now: dt.datetime | None = None) -> int:
        end = self.closed_at or now or timezone.now()
        return int((end - self.raised_at).total_seconds() // 60)


class WebhookReceipt(models.Model):
    """A webhook signature already taken: the same signed request again is a replay (kept a day)."""

    signature = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.signature[:12]
