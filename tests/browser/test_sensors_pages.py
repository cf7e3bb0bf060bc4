"""Door sensors in a real browser: the community office registers a sensor and puts it on the door of a
home case from the case page; the door opens; the grid worker, on a phone, sees the alert arrive on the
live view without reloading and on Today, acknowledges it, checks by phone with the outcome and closes it."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.sensors.actions import do_ingest_events, do_register_device
from jiedao.sensors.choices import AlertStatus, DeviceStatus
from jiedao.sensors.events import EventIn
from jiedao.sensors.models import Binding, DoorSensor, SensorAlert
from jiedao.sensors.tests.access import home_case_a1

from .helpers import StaysOnPage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_a_sensor_goes_on_the_door_and_the_grid_worker_follows_its_alert_up(
    web: Any, cast: Any, signed_in: Any
) -> None:
    case = home_case_a1(cast)
    person = case.person
    do_register_device(actor=None, device_id="HY-DS-0007", vendor="安居门磁", model="AJ-200")

    # The office registers a second sensor and reads its secret once.
    page = signed_in("community_staff_a")
    web.goto("/sensors/devices/new")
    page.fill("#id_device_id", "HY-DS-0008")
    page.fill("#id_vendor", "安居门磁")
    page.fill("#id_model", "AJ-200")
    web.screenshot("sensors-device-add")
    page.click("[data-testid=submit]")
    secret = DoorSensor.objects.get(device_id="HY-DS-0008").secret
    expect(page.locator("[data-testid=device-secret]")).to_have_text(secret)
    web.screenshot("sensors-device-secret")

    # It puts the first one on the door from the case page.
    web.goto(f"/control/cases/{case.pk}/")
    card = page.locator("[data-testid=sensor-card]")
    card.locator("[data-testid=sensor-stock]").select_option(label="HY-DS-0007 · AJ-200")
    card.locator("[data-testid=sensor-bind]").click()
    expect(card.locator("[data-testid=sensor-device]")).to_have_text("HY-DS-0007")
    binding = Binding.objects.get(case=case)
    assert DoorSensor.objects.get(device_id="HY-DS-0007").status == DeviceStatus.BOUND
    page.evaluate("window.scrollTo(0, 0)")  # the redirect jumps to the card; shoot the page from the top
    web.screenshot("sensors-case-card")
    web.goto("/sensors/")
    expect(page.locator("[data-testid=device-row]")).to_have_count(2)
    expect(page.locator("[data-device='HY-DS-0007'] [data-testid=bound-to]")).to_contain_text(person.name)
    web.screenshot("sensors-devices")

    # The grid worker, on a phone, has the live view open when the door opens.
    web.context.clear_cookies()
    page = signed_in("grid_worker_a")
    page.set_viewport_size(PHONE)
    web.goto("/sensors/alerts/")
    expect(page.locator("[data-testid=empty]")).to_be_visible()
    stays = StaysOnPage(page)
    beat = EventIn(
        device_id="HY-DS-0007", seq=1, kind="heartbeat", occurred_at=timezone.now(), battery=88, signal=-61
    )
    assert not do_ingest_events([beat], "mqtt").alerts
    opened = EventIn(device_id="HY-DS-0007", seq=2, kind="door_open", occurred_at=timezone.now())
    result = do_ingest_events([opened], "mqtt")
    assert len(result.alerts) == 1
    alert = result.alerts[0]
    row = page.locator(f"[data-alert='{alert.pk}']")
    expect(row).to_be_visible(timeout=12000)  # brought by the 5-second poll
    stays.check()
    expect(row).to_contain_text(person.name)
    expect(row.locator("[data-testid=alert-status]")).to_have_attribute("data-status", "new")
    web.screenshot("sensors-alerts")
    page.set_viewport_size(PHONE)

    web.goto("/work/today/")
    today = page.locator("[data-testid=door-alert]")
    expect(today).to_have_count(1)
    expect(today).to_contain_text(person.name)
    web.screenshot("sensors-today")
    page.set_viewport_size(PHONE)
    today.click()
    expect(page.locator("[data-testid=alert-address]")).to_have_text(binding.household.address)
    web.screenshot("sensors-alert-new")
    page.set_viewport_size(PHONE)

    page.click("[data-testid=alert-ack]")
    expect(page.locator("[data-testid=alert-check-form]")).to_be_visible()
    web.screenshot("sensors-alert-acknowledged")
    page.set_viewport_size(PHONE)
    page.click("[data-testid=method-phone]")
    page.fill("[data-testid=alert-outcome]", "电话联系本人：下楼取快递，已重申居家隔离规定")
    page.click("[data-testid=alert-check]")
    expect(page.locator("[data-testid=alert-checked-summary]")).to_contain_text("下楼取快递")
    web.screenshot("sensors-alert-checked")
    page.set_viewport_size(PHONE)
    page.click("[data-testid=alert-close]")
    expect(page.locator("[data-testid=alert-closed]")).to_be_visible()
    expect(page.locator("[data-testid=step-closed]")).to_have_attribute("data-done", "1")
    web.screenshot("sensors-alert-closed")
    done = SensorAlert.objects.get(pk=alert.pk)
    assert done.status == AlertStatus.CLOSED and done.check_method == "phone"
    assert done.acknowledged_by == cast["grid_worker_a"] and "下楼取快递" in done.outcome

    # The door's day on the case page, and the household file's sensor history.
    web.goto(f"/control/cases/{case.pk}/")
    expect(page.locator("[data-testid=door-event-alert]")).to_have_count(1)
    web.screenshot("sensors-case-timeline")
    web.goto(f"/registry/households/{binding.household_id}/")
    expect(page.locator("[data-testid=sensor-binding]")).to_contain_text("HY-DS-0007")
    web.screenshot("sensors-household")

    # The office reads the device's history and the dashboard.
    web.context.clear_cookies()
    page = signed_in("community_staff_a")
    web.goto(f"/sensors/devices/{binding.device_id}/")
    expect(page.locator("[data-testid=event-row]")).to_have_count(2)
    web.screenshot("sensors-device")
    web.goto("/")
    expect(page.locator("a[href='/sensors/alerts/?status=open']")).to_contain_text("0")
    web.screenshot("sensors-dashboard")
