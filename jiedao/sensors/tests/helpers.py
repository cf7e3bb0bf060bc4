"""Set-up helpers for sensor tests: a home case in grid A1 with a sensor on its door, and events."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from jiedao.sensors import actions
from jiedao.sensors.events import EventIn

_n = itertools.count(1)


def home_case(cast: Any) -> Any:
    """A secondary contact of grid A1 under home quarantine with a full care team, started."""
    from jiedao.control.actions import do_open_case, do_start_case
    from jiedao.control.tests.test_cases import classified
    from jiedao.control.tests.test_team import full_team

    case = do_open_case(actor=None, key_person=classified(cast, "secondary_contact"))
    full_team(cast, case)
    return do_start_case(actor=None, case=case, basis="居家隔离，五包一到位")


def bound(cast: Any, case: Any = None, device_id: str = "") -> Any:
    """A registered device on the door of a home case (made if not given); returns the binding."""
    case = case or home_case(cast)
    device, _secret = actions.do_register_device(
        actor=None, device_id=device_id or f"DS-{next(_n):05d}", vendor="海康", model="MC-1"
    )
    binding = actions.do_bind_device(actor=None, device=device, case=case)
    # bound a minute ago, so events of "now" fall inside it
    type(binding).objects.filter(pk=binding.pk).update(starts_at=timezone.now() - dt.timedelta(minutes=1))
    binding.refresh_from_db()
    return binding


def event(
    binding: Any, seq: int, kind: str = "door_open", at: dt.datetime | None = None, **kw: Any
) -> EventIn:
    return EventIn(
        device_id=binding.device.device_id, seq=seq, kind=kind, occurred_at=at or timezone.now(), **kw
    )
