"""A door alert's work item is handled on the alert page: its Today card sends the grid worker there
instead of offering "Done" (which would leave the alert open)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from jiedao.sensors import actions
from jiedao.sensors.models import SensorAlert
from jiedao.sensors.tests.helpers import bound, event

pytestmark = pytest.mark.django_db


def test_the_alerts_work_card_links_to_the_alert_and_a_battery_card_can_be_done(
    login: Any, cast: Any
) -> None:
    b = bound(cast)
    actions.do_ingest_events([event(b, 1, "door_open"), event(b, 2, "heartbeat", battery=9)], "mqtt")
    alert = SensorAlert.objects.get()
    assert alert.work_item.handled_on_subject
    page = login("grid_worker_a").get(reverse("work:today")).content.decode()
    handle = f'href="{alert.get_absolute_url()}" data-testid="work-handle"'
    assert handle in page
    assert page.count('data-testid="work-done-open"') == 1  # the battery item only
