"""The wire format of door-sensor events (docs/sensors.md), its validation, and the webhook's signature.
Nothing here writes: `parse_*` turn bytes into `EventIn` or say exactly what is wrong."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from jiedao.sensors.choices import EventKind

TOPIC_PREFIX = "jiedao/sensors/"
TOPIC_FILTER = "jiedao/sensors/+/events"
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
MAX_PAYLOAD = 64 * 1024  # one message, or one webhook body
MAX_BATCH = 500  # events in one message or body
FUTURE_SLACK = dt.timedelta(minutes=5)  # device clocks drift a little


class BadEvent(ValueError):
    """An event (or a message) that cannot be taken, with the reason for the log and the sender."""


@dataclass(frozen=True)
class EventIn:
    device_id: str
    seq: int
    kind: str
    occurred_at: dt.datetime
    battery: int | None = None
    signal: int | None = None


def max_age() -> dt.timedelta:
    return dt.timedelta(hours=getattr(settings, "SENSOR_MAX_EVENT_AGE_HOURS", 72))


def _time(raw: Any, now: dt.datetime) -> dt.datetime:
    if isinstance(raw, bool):
        raise BadEvent("'at' must be an ISO 8601 time with its offset or Unix seconds")
    if isinstance(raw, int | float):
        try:
            at = dt.datetime.fromtimestamp(float(raw), tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise BadEvent("'at' is not a time")
    elif isinstance(raw, str) and len(raw) <= 40:
        try:
            at = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise BadEvent(f"'at' is not an ISO 8601 time: {raw[:40]!r}")
        if timezone.is_naive(at):
            raise BadEvent("'at' needs its UTC offset (e.g. +08:00)")
    else:
        raise BadEvent("'at' is missing or not a time")
    if at > now + FUTURE_SLACK:
        raise BadEvent(f"'at' is in the future ({at.isoformat()})")
    if at < now - max_age():
        raise BadEvent(f"'at' is too far in the past ({at.isoformat()})")
    return at


def _small_int(raw: Any, name: str, lo: int, hi: int) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        raise BadEvent(f"'{name}' must be a whole number from {lo} to {hi}")
    return raw


def event_from(obj: Any, device_id: str, now: dt.datetime | None = None) -> EventIn:
    """One event object of the wire format, for `device_id`."""
    now = now or timezone.now()
    if not isinstance(obj, dict):
        raise BadEvent("an event must be a JSON object")
    if not DEVICE_ID.match(device_id or ""):
        raise BadEvent("bad device ID")
    seq = obj.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq < 2**63:
        raise BadEvent("'seq' must be a positive whole number")
    kind = obj.get("type")
    if kind not in EventKind.values:
        raise BadEvent(f"'type' must be one of {', '.join(EventKind.values)}")
    return EventIn(
        device_id=device_id,
        seq=seq,
        kind=kind,
        occurred_at=_time(obj.get("at"), now),
        battery=_small_int(obj.get("battery"), "battery", 0, 100),
        signal=_small_int(obj.get("rssi"), "rssi", -150, 0),
    )


def _json(payload: bytes) -> Any:
    if len(payload) > MAX_PAYLOAD:
        raise BadEvent(f"payload larger than {MAX_PAYLOAD} bytes")
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadEvent(f"malformed JSON: {str(exc)[:80]}")


def device_of_topic(topic: str) -> str:
    """`jiedao/sensors/<device>/events` → `<device>`."""
    parts = topic.split("/")
    if (
        len(parts) != 4
        or parts[:2] != ["jiedao", "sensors"]
        or parts[3] != "events"
        or not DEVICE_ID.match(parts[2])
    ):
        raise BadEvent(f"unexpected topic {topic[:100]!r}")
    return parts[2]


def parse_message(topic: str, payload: bytes, now: dt.datetime | None = None) -> list[EventIn]:
    """An MQTT message: one event object, or a list of them, for the topic's device."""
    device_id = device_of_topic(topic)
    data = _json(payload)
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_BATCH:
        raise BadEvent(f"more than {MAX_BATCH} events in one message")
    return [event_from(obj, device_id, now) for obj in items]


def parse_webhook_body(
    body: bytes, now: dt.datetime | None = None
) -> tuple[list[EventIn], list[dict[str, Any]]]:
    """A webhook body `{"events": [{"device": ..., <event>}, ...]}`: the good events, and for each bad one
    its index and reason (good ones are still taken)."""
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise BadEvent('the body must be {"events": [...]}')
    if len(data["events"]) > MAX_BATCH:
        raise BadEvent(f"more than {MAX_BATCH} events in one request")
    good, bad = [], []
    for i, obj in enumerate(data["events"]):
        try:
            device = obj.get("device") if isinstance(obj, dict) else None
            if not isinstance(device, str):
                raise BadEvent("'device' is missing")
            good.append(event_from(obj, device, now))
        except BadEvent as exc:
            bad.append({"index": i, "error": str(exc)})
    return good, bad


# ---- the webhook's signature ---------------------------------------------------------------------

SIGNATURE_WINDOW = dt.timedelta(minutes=5)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256 over `<timestamp>.<body>` — what a sender puts in X-Jiedao-Signature."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_signature(
    secret: str, timestamp: str, body: bytes, signature: str, now: dt.datetime | None = None
) -> None:
    """Raise BadEvent unless `signature` signs the body at a time within five minutes of now."""
    now = now or timezone.now()
    try:
        at = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise BadEvent("X-Jiedao-Timestamp must be Unix seconds")
    if abs(now - at) > SIGNATURE_WINDOW:
        raise BadEvent("X-Jiedao-Timestamp is outside the five-minute window")
    if not secret or not hmac.compare_digest(
        sign(secret, timestamp, body), (signature or "").strip().lower()
    ):
        raise BadEvent("bad signature")
