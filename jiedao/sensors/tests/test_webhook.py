"""The signed webhook: the device's or the vendor's secret, a five-minute window, no replays, each event
once; bad events listed, good ones taken."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.utils import timezone

from jiedao.sensors import events
from jiedao.sensors.models import SensorAlert, SensorEvent, Vendor
from jiedao.sensors.tests.helpers import bound

pytestmark = pytest.mark.django_db
URL = "/api/v1/sensors/events"


def post(
    client: Any, body: bytes, key: str, secret: str, ts: int | None = None, sig: str | None = None
) -> Any:
    stamp = str(ts if ts is not None else int(time.time()))
    return client.post(
        URL, data=body, content_type="application/json", HTTP_X_JIEDAO_KEY=key, HTTP_X_JIEDAO_TIMESTAMP=stamp,
        HTTP_X_JIEDAO_SIGNATURE=sig if sig is not None else events.sign(secret, stamp, body),
    )  # fmt: skip


def body(*items: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(items)}).encode()


def door(device: str, seq: int, **kw: Any) -> dict[str, Any]:
    return {"device": device, "seq": seq, "type": "door_open", "at": timezone.now().isoformat(), **kw}


def test_a_device_signs_its_own_events_and_an_opening_raises_an_alert(client: Any, cast: Any) -> None:
    b = bound(cast)
    d = b.device
    r = post(client, body(door(d.device_id, 1)), f"device:{d.device_id}", d.secret)
    assert r.status_code == 200, r.content
    assert r.json() == {"applied": 1, "duplicates": 0, "rejected": [], "alerts": 1}
    assert SensorEvent.objects.get().source == "http" and SensorAlert.objects.count() == 1


def test_the_same_signed_request_twice_is_a_replay_and_the_same_event_in_a_new_request_a_duplicate(
    client: Any, cast: Any
) -> None:
    d = bound(cast).device
    payload = body(door(d.device_id, 1))
    stamp = int(time.time())
    assert post(client, payload, f"device:{d.device_id}", d.secret, ts=stamp).status_code == 200
    replay = post(client, payload, f"device:{d.device_id}", d.secret, ts=stamp)
    assert replay.status_code == 409
    again = post(client, payload, f"device:{d.device_id}", d.secret, ts=stamp + 1)
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    assert SensorEvent.objects.count() == 1 and SensorAlert.objects.count() == 1


@pytest.mark.parametrize(
    "case", ["bad signature", "old timestamp", "future timestamp", "unknown key", "no key", "not a number"]
)
def test_bad_signatures_are_refused_and_nothing_is_stored(client: Any, cast: Any, case: str) -> None:
    d = bound(cast).device
    payload = body(door(d.device_id, 1))
    key, secret, ts, sig = f"device:{d.device_id}", d.secret, int(time.time()), None
    if case == "bad signature":
        sig = "0" * 64
    elif case == "old timestamp":
        ts -= 600
    elif case == "future timestamp":
        ts += 600
    elif case == "unknown key":
        key = "device:NOBODY"
    elif case == "no key":
        key = ""
    r = post(client, payload, key, secret, ts=ts, sig=sig) if case != "not a number" else client.post(
        URL, data=payload, content_type="application/json", HTTP_X_JIEDAO_KEY=key,
        HTTP_X_JIEDAO_TIMESTAMP="yesterday", HTTP_X_JIEDAO_SIGNATURE="00",
    )  # fmt: skip
    assert r.status_code == 401 and "error" in r.json()
    assert not SensorEvent.objects.exists()


def test_a_vendor_signs_for_its_own_devices_only(client: Any, cast: Any) -> None:
    mine, theirs = bound(cast), bound(cast)
    vendor = mine.device.vendor
    vendor.secret = "vendor-secret-0123456789"
    vendor.save()
    other = Vendor.objects.create(name="别家")
    type(theirs.device).objects.filter(pk=theirs.device_id).update(vendor=other)
    r = post(client, body(door(mine.device.device_id, 1), door(theirs.device.device_id, 1)), f"vendor:{vendor.name}",
             vendor.secret)  # fmt: skip
    assert r.status_code == 200
    assert r.json()["applied"] == 1 and r.json()["rejected"] == [
        {"index": 1, "error": "not this signer's device"}
    ]


def test_bad_events_are_listed_and_the_good_ones_taken(client: Any, cast: Any) -> None:
    d = bound(cast).device
    future = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    payload = body(door(d.device_id, 1), {"device": d.device_id, "seq": 2, "type": "door_open", "at": future},
                   {"device": d.device_id, "seq": -1, "type": "door_open", "at": timezone.now().isoformat()})  # fmt: skip
    r = post(client, payload, f"device:{d.device_id}", d.secret)
    assert r.status_code == 200
    got = r.json()
    assert got["applied"] == 1 and [x["index"] for x in got["rejected"]] == [1, 2]
    assert "future" in got["rejected"][0]["error"]


@pytest.mark.parametrize("raw", [b"{not json", b'{"events": "nope"}', b"[]"])
def test_a_malformed_body_is_refused(client: Any, cast: Any, raw: bytes) -> None:
    d = bound(cast).device
    r = post(client, raw, f"device:{d.device_id}", d.secret)
    assert r.status_code == 422 and not SensorEvent.objects.exists()
