"""The door-sensor pages: the device list with health, registering a device (its secret shown once), a
device's history, the sensor card of a control case (bind, door timeline, windows, unbind), the alerts'
live view and one alert followed up to the end, the Today section, the household file's section and
the dashboard cards."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from jiedao.core.models import AuditEntry
from jiedao.sensors.actions import do_acknowledge_alert, do_ingest_events, do_register_device
from jiedao.sensors.choices import AlertStatus, DeviceStatus
from jiedao.sensors.events import EventIn
from jiedao.sensors.models import AllowedWindow, Binding, DoorSensor, SensorAlert
from jiedao.sensors.tests.access import alert_a1, bound_a1, door_opened, home_case_a1, new_device
from jiedao.work.choices import WorkStatus

pytestmark = pytest.mark.django_db

_seq = iter(range(1000, 10**6))


def report(binding: Any, kind: str, ago: dt.timedelta = dt.timedelta(0), **kw: Any) -> Any:
    """The bound sensor reports one event `ago` before now."""
    ev = EventIn(
        device_id=binding.device.device_id, seq=next(_seq), kind=kind, occurred_at=timezone.now() - ago, **kw
    )
    return do_ingest_events([ev], "mqtt")


def bound_earlier(cast: Any, monkeypatch: Any, ago: dt.timedelta) -> Any:
    """A sensor put on a door `ago` before now (so it can have gone silent since)."""
    from jiedao.sensors.actions import do_bind_device
    from jiedao.sensors.tests.access import home_case

    case, real_now = home_case(cast), timezone.now()
    with monkeypatch.context() as then:
        then.setattr(timezone, "now", lambda: real_now - ago)
        return do_bind_device(actor=None, device=new_device(cast), case=case)


def rows(html: bytes | str, testid: str) -> int:
    text = html.decode() if isinstance(html, bytes) else html
    return text.count(f'data-testid="{testid}"')


def case_url(case: Any) -> str:
    return reverse("control:case", args=[case.pk])


# ---- devices --------------------------------------------------------------------------------------


def test_the_device_list_shows_health_and_filters(
    login: Any, cast: Any, django_assert_max_num_queries: Any, monkeypatch: Any
) -> None:
    on_door = bound_a1(cast)
    report(on_door, "heartbeat", battery=85, signal=-60)
    silent = bound_earlier(cast, monkeypatch, dt.timedelta(hours=4))
    report(silent, "heartbeat", ago=dt.timedelta(hours=3), battery=70)
    never = bound_a1(cast)  # just put on the door, not heard yet: not silent yet
    weak = bound_a1(cast)
    report(weak, "heartbeat", battery=12)
    stock = new_device(cast)
    client = login("community_staff_a")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("sensors:devices")).content.decode()
    assert rows(page, "device-row") == 5
    assert on_door.case.person.name in page and on_door.household.address in page
    assert page.count('data-silent="1"') == 1  # only the one quiet for three hours is red
    assert f'data-device="{never.device.device_id}"' in page
    only = lambda **q: client.get(reverse("sensors:devices"), q).content.decode()  # noqa: E731
    silent_page = only(silent="1")
    assert rows(silent_page, "device-row") == 1 and f'data-device="{silent.device.device_id}"' in silent_page
    low = only(low_battery="1")
    assert rows(low, "device-row") == 1 and f'data-device="{weak.device.device_id}"' in low
    in_stock = only(status="in_stock")
    assert rows(in_stock, "device-row") == 1 and f'data-device="{stock.device_id}"' in in_stock
    found = only(q=stock.device_id)
    assert rows(found, "device-row") == 1
    assert rows(only(q="NO-SUCH"), "device-row") == 0 and 'data-testid="empty"' in only(q="NO-SUCH")
    by_battery = only(sort="battery")
    assert by_battery.index(weak.device.device_id) < by_battery.index(on_door.device.device_id)
    # more devices, the same number of queries (no query per row)
    for _i in range(6):
        report(bound_a1(cast), "heartbeat", battery=50)
    with django_assert_max_num_queries(12):
        assert rows(client.get(reverse("sensors:devices")).content, "device-row") == 11


def test_an_office_of_another_community_sees_the_device_not_whose_door(login: Any, cast: Any) -> None:
    binding = bound_a1(cast)
    page = login("community_staff_b").get(reverse("sensors:devices")).content.decode()
    assert rows(page, "device-row") == 1
    assert binding.case.person.name not in page and binding.household.address not in page
    device_page = login("community_staff_b").get(reverse("sensors:device", args=[binding.device_id]))
    assert device_page.status_code == 200
    text = device_page.content.decode()
    assert binding.household.address not in text and rows(text, "elsewhere") == 1


def test_volunteers_and_grid_workers_do_not_open_the_device_stock(login: Any, cast: Any) -> None:
    device = new_device(cast)
    for who in ("volunteer_a", "grid_worker_a", "doctor_a"):
        client = login(who)
        assert client.get(reverse("sensors:devices")).status_code == 403
        assert client.get(reverse("sensors:device", args=[device.pk])).status_code == 403


def test_registering_a_device_shows_its_secret_once(login: Any, cast: Any, english: Any) -> None:
    client = login("community_staff_a")
    resp = client.post(
        reverse("sensors:device_add"), {"device_id": "DS-0001", "vendor": "安居门磁", "model": "M2"}
    )
    assert resp.status_code == 200 and resp["Cache-Control"] == "no-store"
    device = DoorSensor.objects.get(device_id="DS-0001")
    assert device.status == DeviceStatus.IN_STOCK and device.vendor.name == "安居门磁"
    page = resp.content.decode()
    assert rows(page, "device-secret") == 1 and device.secret in page and len(device.secret) >= 16
    assert device.secret not in client.get(reverse("sensors:device", args=[device.pk])).content.decode()
    # the same ID again, a bad ID, no vendor: the error beside the field, nothing written
    again = client.post(
        reverse("sensors:device_add"), {"device_id": "DS-0001", "vendor": "安居门磁"}
    ).content.decode()
    assert "A device with this ID is registered already." in again and rows(again, "error-device_id") == 1
    bad = client.post(
        reverse("sensors:device_add"), {"device_id": "门 1", "vendor": "安居门磁"}
    ).content.decode()
    assert rows(bad, "error-device_id") == 1
    none = client.post(reverse("sensors:device_add"), {"device_id": "DS-0002", "vendor": ""}).content.decode()
    assert rows(none, "error-vendor") == 1
    assert DoorSensor.objects.count() == 1
    # a given secret is kept
    client.post(
        reverse("sensors:device_add"), {"device_id": "DS-0003", "vendor": "安居门磁", "secret": "s" * 20}
    )
    assert DoorSensor.objects.get(device_id="DS-0003").secret == "s" * 20
    assert login("auditor").get(reverse("sensors:device_add")).status_code == 403


def test_the_device_page_shows_its_doors_and_last_events(login: Any, cast: Any) -> None:
    binding = bound_a1(cast)
    report(binding, "heartbeat", battery=90)
    alert = door_opened(binding, seq=5)
    report(binding, "door_close")
    page = (
        login("community_staff_a").get(reverse("sensors:device", args=[binding.device_id])).content.decode()
    )
    assert rows(page, "binding-row") == 1 and binding.case.person.name in page
    assert rows(page, "event-row") == 3
    assert reverse("sensors:alert", args=[alert.pk]) in page
    assert "jd-door-alert" in page  # the opening that raised it is red


def test_device_exports_are_ledgers_with_an_audit_entry(login: Any, cast: Any) -> None:
    binding = bound_a1(cast)
    new_device(cast)
    resp = login("community_staff_a").get(reverse("sensors:devices_export"), {"status": "bound"})
    sheet = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert (
        len(values) == 2
        and values[1][0] == binding.device.device_id
        and values[1][4] == binding.household.address
    )
    entry = AuditEntry.objects.get(action="sensors.export_devices")
    assert entry.changes["rows"] == 1 and entry.changes["filters"] == {"status": "bound"}


# ---- the control case's sensor card ---------------------------------------------------------------


def test_the_office_binds_grants_and_unbinds_from_the_case_page(login: Any, cast: Any, english: Any) -> None:
    case = home_case_a1(cast)
    device = new_device(cast)
    client = login("community_staff_a")
    page = client.get(case_url(case)).content.decode()
    assert rows(page, "sensor-bind-form") == 1 and device.device_id in page
    resp = client.post(reverse("sensors:bind", args=[case.pk]), {"device": device.pk})
    assert resp.status_code == 302 and resp["Location"].endswith(case_url(case) + "#sensor-card")
    binding = Binding.objects.get(case=case)
    assert binding.device == device and DoorSensor.objects.get(pk=device.pk).status == DeviceStatus.BOUND
    # the same device again: not in stock
    again = client.post(reverse("sensors:bind", args=[case.pk]), {"device": device.pk}, follow=True)
    assert "Choose a door sensor in stock." in again.content.decode() and Binding.objects.count() == 1

    page = client.get(case_url(case)).content.decode()
    assert (
        rows(page, "sensor-health") == 1 and rows(page, "grant-form") == 1 and rows(page, "unbind-card") == 1
    )
    assert rows(page, "sensor-bind-form") == 0

    # a window granted now: the door opens and closes inside it without an alert
    now = timezone.localtime()
    window = {"starts_at": f"{now - dt.timedelta(minutes=5):%Y-%m-%dT%H:%M}",
              "ends_at": f"{now + dt.timedelta(hours=1):%Y-%m-%dT%H:%M}", "reason": "就医，专人陪同"}  # fmt: skip
    grant = client.post(reverse("sensors:grant", args=[binding.pk]), window, follow=True)
    assert "The door may open from" in grant.content.decode()
    assert AllowedWindow.objects.filter(binding=binding, reason="就医，专人陪同").count() == 1
    assert not report(binding, "door_open").alerts and not report(binding, "door_close").alerts
    page = client.get(case_url(case)).content.decode()
    assert rows(page, "sensor-window") == 1 and rows(page, "door-event") == 2 and rows(page, "door-day") == 1
    assert rows(page, "door-event-alert") == 0

    # bad windows are refused with the reason, nothing written
    backwards = {**window, "ends_at": f"{now - dt.timedelta(hours=1):%Y-%m-%dT%H:%M}"}
    text = client.post(reverse("sensors:grant", args=[binding.pk]), backwards, follow=True).content.decode()
    assert "A window ends after it starts." in text
    text = client.post(
        reverse("sensors:grant", args=[binding.pk]), {**window, "starts_at": "soon"}, follow=True
    )
    assert "Give the start as a date and a time." in text.content.decode()
    assert AllowedWindow.objects.count() == 1

    # unbind: a reason is needed; then the device is back in stock and the card offers binding again
    text = client.post(
        reverse("sensors:unbind", args=[binding.pk]), {"reason": " "}, follow=True
    ).content.decode()
    assert "Say why the sensor comes off." in text and Binding.objects.get().ends_at is None
    client.post(reverse("sensors:unbind", args=[binding.pk]), {"reason": "更换门磁"})
    assert Binding.objects.get().end_reason == "更换门磁"
    assert DoorSensor.objects.get(pk=device.pk).status == DeviceStatus.IN_STOCK
    page = client.get(case_url(case)).content.decode()
    assert rows(page, "sensor-past") == 1 and rows(page, "sensor-bind-form") == 1


def test_the_case_card_shows_alerts_in_red_and_the_grid_worker_grants_but_does_not_bind(
    login: Any, cast: Any
) -> None:
    binding = bound_a1(cast)
    report(binding, "heartbeat", ago=dt.timedelta(minutes=3))
    alert = door_opened(binding, seq=7)
    report(binding, "door_close")
    gw = login("grid_worker_a").get(case_url(binding.case)).content.decode()
    assert rows(gw, "door-event-alert") == 1 and rows(gw, "sensor-alert") == 1
    assert reverse("sensors:alert", args=[alert.pk]) in gw
    assert rows(gw, "grant-form") == 1 and rows(gw, "unbind-card") == 0
    assert rows(gw, "door-day") == 1
    # grid workers cannot bind or unbind, the office of B cannot even find the case
    assert (
        login("grid_worker_a").post(reverse("sensors:unbind", args=[binding.pk]), {"reason": "x"}).status_code
        == 403
    )
    other = new_device(cast)
    resp = login("community_staff_b").post(
        reverse("sensors:bind", args=[binding.case_id]), {"device": other.pk}
    )
    assert resp.status_code == 404 and DoorSensor.objects.get(pk=other.pk).status == DeviceStatus.IN_STOCK


def test_the_card_stays_away_from_people_without_the_read_roles(rf: Any, cast: Any) -> None:
    from jiedao.sensors.views import case_card

    binding = bound_a1(cast)
    for who, shown in (("volunteer_a", False), ("grid_worker_a2", False), ("police_a", True)):
        request = rf.get("/")
        request.user = cast[who]
        assert (case_card(request, binding.case) is not None) is shown, who


def test_a_closed_case_offers_no_binding_and_keeps_its_sensor_history(login: Any, cast: Any) -> None:
    from jiedao.control.actions import do_cancel_case

    new_device(cast)
    plain = do_cancel_case(actor=None, case=home_case_a1(cast), basis="误开")
    assert rows(login("community_staff_a").get(case_url(plain)).content, "sensor-card") == 0
    binding = bound_a1(cast)
    do_cancel_case(actor=None, case=binding.case, basis="误开")  # the end hook takes the sensor off
    page = login("community_staff_a").get(case_url(binding.case)).content.decode()
    assert (
        rows(page, "sensor-past") == 1
        and rows(page, "sensor-bind-form") == 0
        and rows(page, "sensor-health") == 0
    )
    assert DoorSensor.objects.get(pk=binding.device_id).status == DeviceStatus.IN_STOCK


# ---- alerts ---------------------------------------------------------------------------------------


def test_the_live_view_lists_open_alerts_first_in_scope(
    login: Any, cast: Any, django_assert_max_num_queries: Any
) -> None:
    from jiedao.sensors.actions import do_check_alert, do_close_alert

    first = alert_a1(cast)
    closed = do_close_alert(
        actor=None, alert=do_check_alert(actor=None, alert=alert_a1(cast), method="phone", outcome="在家")
    )
    newest_closed_first = SensorAlert.objects.get(pk=closed.pk)
    assert newest_closed_first.raised_at >= first.raised_at
    latest = alert_a1(cast)
    in_b = door_opened(bound_a1(cast, in_b=True))
    client = login("community_staff_a")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("sensors:alerts")).content.decode()
    assert rows(page, "alert-row") == 3 and f'data-alert="{in_b.pk}"' not in page
    order = [page.index(f'data-alert="{a.pk}"') for a in (latest, first, closed)]
    assert order == sorted(order), "open alerts first, newest first"
    open_only = client.get(reverse("sensors:alerts"), {"status": "open"}).content.decode()
    assert rows(open_only, "alert-row") == 2 and f'data-alert="{closed.pk}"' not in open_only
    assert rows(client.get(reverse("sensors:alerts"), {"kind": "offline"}).content, "alert-row") == 0
    assert (
        rows(client.get(reverse("sensors:alerts"), {"community": cast.community_b.pk}).content, "alert-row")
        == 0
    )
    # the command centre sees both communities and filters by one
    command = login("command")
    assert rows(command.get(reverse("sensors:alerts")).content, "alert-row") == 4
    only_b = command.get(reverse("sensors:alerts"), {"community": cast.community_b.pk}).content.decode()
    assert rows(only_b, "alert-row") == 1 and f'data-alert="{in_b.pk}"' in only_b
    # more alerts, no more queries
    for _i in range(5):
        alert_a1(cast)
    client = login("community_staff_a")
    with django_assert_max_num_queries(12):
        assert rows(client.get(reverse("sensors:alerts")).content, "alert-row") == 8
    # out of the area: the grid worker of A2 sees none of A1's
    assert rows(login("grid_worker_a2").get(reverse("sensors:alerts")).content, "alert-row") == 0


def test_the_table_polls_every_five_seconds_with_its_filters(login: Any, cast: Any) -> None:
    alert_a1(cast)
    client = login("grid_worker_a")
    partial = client.get(reverse("sensors:alerts"), {"status": "open", "page": "1"}, HTTP_HX_REQUEST="true")
    text = partial.content.decode()
    assert "<html" not in text and rows(text, "alert-row") == 1
    assert 'hx-trigger="every 5s"' in text
    poll = text.split('data-testid="alerts-poll"')[1].split(">")[0]
    assert "status=open" in poll and "page=1" in poll
    # a new alert shows on the next poll
    alert_a1(cast)
    again = client.get(reverse("sensors:alerts"), {"status": "open"}, HTTP_HX_REQUEST="true").content
    assert rows(again, "alert-row") == 2


def test_an_alert_is_followed_up_to_the_end_through_its_page(login: Any, cast: Any, english: Any) -> None:
    alert = alert_a1(cast)
    url = reverse("sensors:alert", args=[alert.pk])
    client = login("grid_worker_a")
    page = client.get(url).content.decode()
    assert rows(page, "alert-ack") == 1 and rows(page, "alert-check-form") == 0
    assert alert.binding.household.address in page and alert.case.person.name in page
    # closing before the check is refused, with the action's words
    text = client.post(reverse("sensors:alert_close", args=[alert.pk]), follow=True).content.decode()
    assert "Check the alert (by phone or on site) before closing it." in text
    client.post(reverse("sensors:alert_ack", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == cast["grid_worker_a"]
    assert alert.work_item.status == WorkStatus.IN_PROGRESS
    page = client.get(url).content.decode()
    assert rows(page, "alert-check-form") == 1 and rows(page, "alert-ack") == 0
    # a check needs its outcome
    text = client.post(
        reverse("sensors:alert_check", args=[alert.pk]), {"method": "phone", "outcome": ""}, follow=True
    )
    assert "Write what the check found." in text.content.decode()
    client.post(
        reverse("sensors:alert_check", args=[alert.pk]), {"method": "phone", "outcome": "倒垃圾，已重申规定"}
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CHECKED and alert.check_method == "phone"
    page = client.get(url).content.decode()
    assert rows(page, "alert-close") == 1 and "倒垃圾，已重申规定" in page
    client.post(reverse("sensors:alert_close", args=[alert.pk]), {"note": "无异常"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLOSED and alert.work_item.status == WorkStatus.DONE
    page = client.get(url).content.decode()
    assert rows(page, "alert-closed") == 1 and page.count('data-done="1"') == 4
    text = client.post(reverse("sensors:alert_ack", args=[alert.pk]), follow=True).content.decode()
    assert "This alert is Closed already." in text


def test_alert_pages_are_scoped(login: Any, cast: Any) -> None:
    alert = alert_a1(cast)
    url = reverse("sensors:alert", args=[alert.pk])
    for who in ("community_staff_b", "grid_worker_a2", "doctor_b"):
        assert login(who).get(url).status_code == 404, who
        assert login(who).post(reverse("sensors:alert_ack", args=[alert.pk])).status_code == 404, who
    assert login("volunteer_a").get(url).status_code == 403
    assert login("volunteer_a").get(reverse("sensors:alerts")).status_code == 403
    # the auditor reads it but has no action
    page = login("auditor").get(url).content.decode()
    assert rows(page, "alert-no-action") == 1 and rows(page, "alert-ack") == 0
    assert login("auditor").post(reverse("sensors:alert_ack", args=[alert.pk])).status_code == 403
    assert SensorAlert.objects.get().status == AlertStatus.NEW


def test_alert_exports_are_ledgers_with_an_audit_entry(login: Any, cast: Any) -> None:
    alert = alert_a1(cast)
    do_acknowledge_alert(actor=cast["grid_worker_a"], alert=alert)
    door_opened(bound_a1(cast, in_b=True))
    resp = login("community_staff_a").get(reverse("sensors:alerts_export"), {"status": "open"})
    values = list(openpyxl.load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True))
    assert (
        len(values) == 2 and values[1][3] == alert.case.person.name and values[1][5] == alert.device.device_id
    )
    assert AuditEntry.objects.get(action="sensors.export_alerts").changes["rows"] == 1


# ---- Today, the household file and the dashboard --------------------------------------------------


def test_today_shows_the_open_door_alerts_of_my_grid_and_my_care_teams(login: Any, cast: Any) -> None:
    from jiedao.control.tests.test_team import full_team

    alert = alert_a1(cast)
    link = reverse("sensors:alert", args=[alert.pk])
    today = reverse("work:today")
    gw = login("grid_worker_a").get(today).content.decode()
    assert rows(gw, "door-alert") == 1 and link in gw
    assert rows(login("grid_worker_a2").get(today).content, "door-alert") == 0
    assert rows(login("doctor_a").get(today).content, "door-alert") == 0  # not on its team yet
    full_team(cast, alert.case)
    assert rows(login("doctor_a").get(today).content, "door-alert") == 1
    assert rows(login("volunteer_a").get(today).content, "door-alert") == 0  # on the team, reads no alerts
    assert rows(login("doctor_b").get(today).content, "door-alert") == 0
    # newest first
    later = alert_a1(cast)
    gw = login("grid_worker_a").get(today).content.decode()
    assert gw.index(reverse("sensors:alert", args=[later.pk])) < gw.index(link)
    # a closed alert leaves Today
    from jiedao.sensors.actions import do_check_alert, do_close_alert

    do_close_alert(
        actor=None, alert=do_check_alert(actor=None, alert=alert, method="on_site", outcome="在家")
    )
    do_close_alert(
        actor=None, alert=do_check_alert(actor=None, alert=later, method="on_site", outcome="在家")
    )
    assert rows(login("grid_worker_a").get(today).content, "door-alert") == 0


def test_the_household_file_shows_its_sensor_history(login: Any, cast: Any) -> None:
    binding = bound_a1(cast)
    door_opened(binding)
    url = reverse("registry:household", args=[binding.household_id])
    office = login("community_staff_a").get(url).content.decode()
    assert rows(office, "sensor-binding") == 1 and rows(office, "sensor-device-link") == 1
    assert binding.device.device_id in office and 'data-testid="sensor-alerts-count"' in office
    gw = login("grid_worker_a").get(url).content.decode()
    assert rows(gw, "sensor-binding") == 1 and rows(gw, "sensor-device-link") == 0
    volunteer = login("volunteer_a").get(url)
    assert volunteer.status_code == 200 and rows(volunteer.content, "sensor-binding") == 0


def test_the_dashboard_counts_open_alerts_and_silent_sensors(
    login: Any, cast: Any, english: Any, monkeypatch: Any
) -> None:
    from jiedao.sensors.own_sections import sensor_cards

    assert [c.value for c in sensor_cards(cast["grid_worker_a"])] == [0, 0]
    alert = alert_a1(cast)
    bound_a1(cast)  # just put on the door: not silent yet
    quiet = bound_earlier(cast, monkeypatch, dt.timedelta(hours=2))
    report(quiet, "heartbeat", ago=dt.timedelta(hours=1, minutes=30))
    cards = sensor_cards(cast["grid_worker_a"])
    assert [c.value for c in cards] == [1, 1] and cards[0].tone == "danger" and cards[1].tone == "danger"
    do_acknowledge_alert(actor=cast["grid_worker_a"], alert=alert)
    assert sensor_cards(cast["grid_worker_a"])[0].tone == "warning"
    assert [c.value for c in sensor_cards(cast["grid_worker_a2"])] == [0, 0]
    assert sensor_cards(cast["volunteer_a"]) == []
    home = login("community_staff_a").get(reverse("home")).content.decode()
    assert "Open door alerts" in home and "Silent door sensors" in home


def test_a_device_registered_by_the_action_is_listed_in_stock(login: Any, cast: Any) -> None:
    device, _secret = do_register_device(actor=cast["command"], device_id="STOCK-9", vendor="安居门磁")
    page = login("command").get(reverse("sensors:devices"), {"status": "in_stock"}).content.decode()
    assert f'data-device="{device.device_id}"' in page
