"""The filters of the device list and of the alerts' live view (one set for the page and its export)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from jiedao.registry.filters import _int
from jiedao.sensors.actions import LOW_BATTERY, silent_after
from jiedao.sensors.choices import OPEN_ALERT_STATUSES, AlertKind, AlertStatus, DeviceStatus
from jiedao.sensors.models import DoorSensor, SensorAlert

DEVICE_SORTS = {
    "device": "device_id",
    "status": "status",
    "seen": "last_seen_at",
    "battery": "battery",
    "signal": "signal",
}
ALERT_SORTS = {"raised": "raised_at", "kind": "kind", "status": "status"}
LIVE = "live"  # the alerts' default order: open ones first, newest first


def _flag(raw: Any) -> bool:
    return str(raw or "") in ("1", "true", "on")


def silent_q(now: dt.datetime | None = None) -> Q:
    """A device on a door (for longer than SENSOR_SILENT_AFTER_MINUTES: its status changed then) that has
    said nothing for that long, or never."""
    cutoff = (now or timezone.now()) - silent_after()
    return Q(status=DeviceStatus.BOUND, updated_at__lt=cutoff) & (
        Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True)
    )


@dataclass
class DeviceFilters:
    q: str = ""  # a device ID, or its start
    status: str = ""
    silent: bool = False
    low_battery: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DeviceFilters:
        status = str(params.get("status") or "")
        return cls(
            q=str(params.get("q") or "").strip()[:64],
            status=status if status in DeviceStatus.values else "",
            silent=_flag(params.get("silent")),
            low_battery=_flag(params.get("low_battery")),
        )

    def as_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", False)}

    def apply(self, qs: QuerySet[DoorSensor], now: dt.datetime | None = None) -> QuerySet[DoorSensor]:
        if self.status:
            qs = qs.filter(status=self.status)
        if self.silent:
            qs = qs.filter(silent_q(now))
        if self.low_battery:
            qs = qs.filter(battery__lt=LOW_BATTERY)
        if self.q:
            qs = qs.filter(device_id__icontains=self.q)
        return qs


@dataclass
class AlertFilters:
    status: str = ""  # "" every alert, "open", "closed" or one status
    kind: str = ""
    community: int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> AlertFilters:
        status = str(params.get("status") or "")
        kind = str(params.get("kind") or "")
        return cls(
            status=status if status == "open" or status in AlertStatus.values else "",
            kind=kind if kind in AlertKind.values else "",
            community=_int(params.get("community")),
        )

    def as_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}

    def apply(self, qs: QuerySet[SensorAlert]) -> QuerySet[SensorAlert]:
        if self.status == "open":
            qs = qs.filter(status__in=OPEN_ALERT_STATUSES)
        elif self.status:
            qs = qs.filter(status=self.status)
        if self.kind:
            qs = qs.filter(kind=self.kind)
        if self.community:
            qs = qs.filter(community_id=self.community)
        return qs


def live_order(qs: QuerySet[SensorAlert]) -> QuerySet[SensorAlert]:
    """Open alerts first, then the closed ones; newest first in each."""
    rank = Case(
        When(status__in=OPEN_ALERT_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return qs.annotate(live_rank=rank).order_by("live_rank", "-raised_at", "-pk")
