"""The door-sensor webhook: a vendor's cloud (or a device) posts events signed with its secret.

POST /api/v1/sensors/events with headers `X-Jiedao-Key: device:<device ID>` or `vendor:<name>`,
`X-Jiedao-Timestamp: <Unix seconds>` and `X-Jiedao-Signature: <hex HMAC-SHA256 of "<timestamp>.<body>">`;
body `{"events": [{"device": "...", "seq": 1, "type": "door_open", "at": "...+08:00"}, ...]}`.
Each event is applied once (by device and sequence number); the same signed request twice is refused."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from jiedao.core.errors import InvalidInput, Unauthenticated
from jiedao.sensors import actions, events
from jiedao.sensors.models import DoorSensor, Vendor

log = logging.getLogger("jiedao.sensors")
router = Router(tags=["sensors"])


class Rejected(Schema):
    index: int
    error: str


class IngestOut(Schema):
    applied: int
    duplicates: int
    rejected: list[Rejected]
    alerts: int


def _secret(key: str) -> tuple[str, Any]:
    """The secret behind `device:<id>` / `vendor:<name>`, and the device or vendor."""
    kind, _sep, name = (key or "").partition(":")
    if kind == "device":
        device = DoorSensor.objects.filter(device_id=name).select_related("vendor").first()
        if device is not None:
            return device.secret, device
    elif kind == "vendor":
        vendor = Vendor.objects.filter(name=name).first()
        if vendor is not None and vendor.secret:
            return vendor.secret, vendor
    raise Unauthenticated(_("Unknown X-Jiedao-Key."))


@router.post(
    "/events", auth=None, response={200: IngestOut}, summary="Take door-sensor events (signed webhook)"
)
def post_events(request: HttpRequest) -> Status[IngestOut]:
    body = request.body
    secret, owner = _secret(request.headers.get("X-Jiedao-Key", ""))
    timestamp = request.headers.get("X-Jiedao-Timestamp", "")
    signature = request.headers.get("X-Jiedao-Signature", "")
    try:
        events.check_signature(secret, timestamp, body, signature)
    except events.BadEvent as exc:
        log.warning("webhook refused (%s): %s", request.headers.get("X-Jiedao-Key", "")[:80], exc)
        raise Unauthenticated(str(exc))
    try:
        good, bad = events.parse_webhook_body(body)
    except events.BadEvent as exc:
        raise InvalidInput(str(exc), field="body")
    # A signer speaks for itself (a device) or for its own devices (a vendor), never for others.
    if isinstance(owner, DoorSensor):
        allowed = {owner.device_id}
    else:
        ids = {e.device_id for e in good}
        allowed = set(
            DoorSensor.objects.filter(device_id__in=ids, vendor=owner).values_list("device_id", flat=True)
        )
    mine = [e for e in good if e.device_id in allowed]
    for i, e in enumerate(good):
        if e not in mine:
            bad.append({"index": i, "error": "not this signer's device"})
    result = actions.do_take_webhook(signature=signature, events=mine)
    for e, why in result.rejected:
        bad.append({"index": good.index(e), "error": why})
    if bad:
        log.warning("webhook: %s of %s events refused: %s", len(bad), len(good) + len(bad), bad[:5])
    return Status(
        200,
        IngestOut(applied=result.applied, duplicates=result.duplicates, rejected=[Rejected(**b) for b in bad],
                  alerts=len(result.alerts)),
    )  # fmt: skip
