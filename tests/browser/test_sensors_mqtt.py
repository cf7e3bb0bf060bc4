"""The Done-when of the door sensors: a real `mosquitto_pub` publishes a door opening to the real broker,
the bridge stores it, and the grid worker sees the alert arrive on their phone — on the live view without
reloading, and on their Today page."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.sensors.bridge import Bridge
from jiedao.sensors.models import SensorAlert
from jiedao.sensors.tests.helpers import bound

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
BROKER = ("127.0.0.1", 1883)


def _broker_up() -> bool:
    try:
        with socket.create_connection(BROKER, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    if not shutil.which("mosquitto_pub") or not _broker_up():
        pytest.skip("needs Mosquitto on 127.0.0.1:1883 and mosquitto_pub")
    b = Bridge("mqtt://127.0.0.1:1883", client_id=f"jiedao-browser-test-{timezone.now().timestamp():.0f}")
    b.start()
    assert b.connected.wait(10), "the bridge did not connect"
    yield b
    b.stop()


def test_mosquitto_pub_door_opening_reaches_the_grid_workers_phone(
    web: Any, cast: Any, signed_in: Any, bridge: Bridge
) -> None:
    binding = bound(cast)
    person = binding.case.person
    page = signed_in("grid_worker_a")
    page.set_viewport_size(PHONE)
    web.goto("/sensors/alerts/")
    expect(page.locator("[data-testid=alert-row]")).to_have_count(0)

    at = timezone.localtime().replace(microsecond=0).isoformat()
    message = json.dumps({"seq": 1, "type": "door_open", "at": at, "battery": 81, "rssi": -67})
    topic = f"jiedao/sensors/{binding.device.device_id}/events"
    subprocess.run(["mosquitto_pub", "-h", BROKER[0], "-p", str(BROKER[1]), "-q", "1", "-t", topic, "-m", message],
                   check=True, timeout=10)  # fmt: skip

    # The live view polls: the alert appears without a reload.
    row = page.locator("[data-testid=alert-row]")
    expect(row).to_have_count(1, timeout=20_000)
    expect(row.first).to_contain_text(person.name)
    web.screenshot("sensors-mqtt-live")
    alert = SensorAlert.objects.get()
    assert alert.kind == "door_open" and alert.event is not None and alert.event.source == "mqtt"
    assert abs(alert.occurred_at - dt.datetime.fromisoformat(at)) < dt.timedelta(seconds=1)

    web.goto("/work/today/")
    expect(page.locator("[data-testid=door-alert]").first).to_contain_text(person.name)
    web.screenshot("sensors-mqtt-today")
    assert bridge.stats.applied == 1 and bridge.stats.alerts == 1


def test_the_command_centres_navigation_fits_a_laptop_screen(web: Any, cast: Any, signed_in: Any) -> None:
    """Every module adds a menu entry; the bar must still fit 1366 px without sideways scrolling."""
    page = signed_in("command")
    page.set_viewport_size({"width": 1366, "height": 900})
    web.goto("/sensors/alerts/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
