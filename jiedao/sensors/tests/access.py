"""Access-matrix entries for the door-sensor pages. A sensor is put on the door of a home case
(secondary close contact, home quarantine) in community A, grid A1, and an opened door raises an alert
there, so B's staff and the grid worker of A2 get 404 for the binding and the alert; volunteers get 403
everywhere. The device stock is the subdistrict's: every community office and the auditors read it."""

from __future__ import annotations

import itertools
from typing import Any

from django.utils import timezone

from jiedao.core.testing import Cast, endpoint, public

READ_A = {"command", "auditor", "community_staff_a", "grid_worker_a", "doctor_a", "police_a"}
READ_ANY = READ_A | {"community_staff_b", "grid_worker_b", "doctor_b", "police_b", "grid_worker_a2"}
MANAGE_A = {"command", "community_staff_a"}
MANAGE_ANY = MANAGE_A | {"community_staff_b"}
HANDLE_A = {"command", "community_staff_a", "grid_worker_a", "doctor_a", "police_a"}
DEVICES = MANAGE_ANY | {"auditor"}
_n = itertools.count(1)


def new_device(cast: Cast | None = None) -> Any:
    from jiedao.sensors.actions import do_register_device

    return do_register_device(actor=None, device_id=f"MX-{next(_n)}", vendor="测试门磁厂", model="DS-1")[0]


def home_case_a1(cast: Cast) -> Any:
    return home_case(cast)


def home_case(cast: Cast, in_b: bool = False) -> Any:
    """A resident of grid A1 (or B1) pushed as a secondary close contact (home quarantine), verified, and a case
    opened for them (pending its care team: a sensor goes on the door before the measure starts)."""
    from jiedao.control.actions import do_open_case
    from jiedao.registry.models import Resident
    from jiedao.registry.tests.factories import make_household
    from jiedao.screening.actions import check_list_meta, do_open_list, do_push_entries, do_verify_key_person
    from jiedao.screening.models import KeyPerson

    n = next(_n)
    meta = check_list_meta(title="次密接协查", issuer="市疫情防控指挥部", source="secondary_contact")
    plist = do_open_list(actor=cast["command"], client_key=f"sensors-list-{n}", meta=meta)[0]
    hh = make_household(
        *((cast.community_b, cast.grid_b1) if in_b else (cast.community_a, cast.grid_a1)), members=1
    )
    person = Resident.objects.filter(household=hh).select_related("person").get().person
    result = do_push_entries(
        actor=cast["command"], plist=plist,
        entries=[{"key": f"sensors-entry-{n}", "name": person.name, "id_number": person.id_number}],
    )  # fmt: skip
    kp = KeyPerson.objects.get(pk=result.entries[0]["key_person_id"])
    do_verify_key_person(actor=None, kp=kp, outcome="reached_in_area", category="secondary_contact")
    kp.refresh_from_db()
    return do_open_case(actor=None, key_person=kp)


def bound_a1(cast: Cast, in_b: bool = False) -> Any:
    """A new sensor on the door of a new home case in grid A1 (or B1)."""
    from jiedao.sensors.actions import do_bind_device

    return do_bind_device(actor=None, device=new_device(cast), case=home_case(cast, in_b))


def door_opened(binding: Any, seq: int = 1) -> Any:
    """The sensor reports the door opened now: outside any window, an alert."""
    from jiedao.sensors.actions import do_ingest_events
    from jiedao.sensors.events import EventIn

    ev = EventIn(device_id=binding.device.device_id, seq=seq, kind="door_open", occurred_at=timezone.now())
    result = do_ingest_events([ev], "mqtt")
    assert result.alerts, "an opened door under home quarantine raises an alert"
    return result.alerts[0]


def alert_a1(cast: Cast) -> Any:
    return door_opened(bound_a1(cast))


def checked_alert_a1(cast: Cast) -> Any:
    from jiedao.sensors.actions import do_check_alert

    return do_check_alert(actor=None, alert=alert_a1(cast), method="phone", outcome="倒垃圾，已重申规定")


def _window(cast: Cast) -> dict[str, Any]:
    start = timezone.localtime() + timezone.timedelta(minutes=30)
    end = start + timezone.timedelta(hours=2)
    return {
        "starts_at": f"{start:%Y-%m-%dT%H:%M}",
        "ends_at": f"{end:%Y-%m-%dT%H:%M}",
        "reason": "就医，专人陪同",
    }


endpoint("sensors:devices", lambda cast: "/sensors/", DEVICES)
endpoint("sensors:devices_export", lambda cast: "/sensors/export", DEVICES)
endpoint("sensors:device_add", lambda cast: "/sensors/devices/new", MANAGE_ANY)
endpoint(
    "sensors:device_add", lambda cast: "/sensors/devices/new", MANAGE_ANY, method="post",
    data=lambda cast: {"device_id": "MX-NEW-1", "vendor": "测试门磁厂", "model": "DS-2"},
)  # fmt: skip
endpoint("sensors:device", lambda cast: f"/sensors/devices/{bound_a1(cast).device_id}/", DEVICES)
endpoint(
    "sensors:bind", lambda cast: f"/sensors/cases/{home_case_a1(cast).pk}/bind", MANAGE_A, method="post",
    data=lambda cast: {"device": new_device(cast).pk}, ok=(302,),
)  # fmt: skip
endpoint(
    "sensors:unbind", lambda cast: f"/sensors/bindings/{bound_a1(cast).pk}/unbind", MANAGE_A, method="post",
    data=lambda cast: {"reason": "更换门磁"}, ok=(302,),
)  # fmt: skip
endpoint(
    "sensors:grant", lambda cast: f"/sensors/bindings/{bound_a1(cast).pk}/grant", HANDLE_A, method="post",
    data=_window, ok=(302,),
)  # fmt: skip
endpoint("sensors:alerts", lambda cast: "/sensors/alerts/", READ_ANY)
endpoint("sensors:alerts_export", lambda cast: "/sensors/alerts/export", READ_ANY)
endpoint("sensors:alert", lambda cast: f"/sensors/alerts/{alert_a1(cast).pk}/", READ_A)
endpoint(
    "sensors:alert_ack", lambda cast: f"/sensors/alerts/{alert_a1(cast).pk}/acknowledge", HANDLE_A,
    method="post", ok=(302,),
)  # fmt: skip
endpoint(
    "sensors:alert_check", lambda cast: f"/sensors/alerts/{alert_a1(cast).pk}/check", HANDLE_A, method="post",
    data=lambda cast: {"method": "phone", "outcome": "电话联系，本人在家"}, ok=(302,),
)  # fmt: skip
endpoint(
    "sensors:alert_close", lambda cast: f"/sensors/alerts/{checked_alert_a1(cast).pk}/close", HANDLE_A,
    method="post", data=lambda cast: {"note": "已处置"}, ok=(302,),
)  # fmt: skip
# The webhook needs no account: its HMAC signature is the key (tests in test_webhook.py).
public("api:post_events")
