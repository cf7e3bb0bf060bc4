"""The sampler's phone page in a real browser: a 10-in-1 tube filled with the network cut in the
middle and restored; the phone refuses the 11th person itself; every item reaches the server exactly
once; a bad ID comes back refused and is shown on the member's line."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.nat.actions import do_open_round, do_save_site
from jiedao.nat.models import Registration, Sample, Tube
from jiedao.registry.models import Resident
from jiedao.registry.tests.factories import make_household

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_a_pooled_tube_on_a_phone_through_a_network_cut(web: Any, cast: Any, signed_in: Any) -> None:
    site = do_save_site(actor=None, name="甲社区广场采样点", community=cast.community_a, grid=cast.grid_a1)
    site.staff.add(cast["sampler_a"])
    now = timezone.now()
    do_open_round(actor=None, name="第一轮全员核酸", starts_at=now - dt.timedelta(hours=1),
                  ends_at=now + dt.timedelta(hours=8), sites=[site])  # fmt: skip
    people = []
    for _ in range(4):
        hh = make_household(cast.community_a, cast.grid_a1, members=3)
        people += [
            r.person for r in Resident.objects.filter(household=hh).select_related("person").order_by("pk")
        ]

    page = signed_in("sampler_a")
    page.set_viewport_size(PHONE)
    web.goto("/nat/sample/")
    expect(page.locator("[data-testid=sync-state]")).to_have_attribute("data-online", "1")
    page.locator("[data-testid=barcode]").fill("hy20221101001")
    page.locator("[data-testid=open-tube]").click()
    ids = page.locator("[data-testid=id-number]")
    for p in people[:4]:
        ids.fill(p.id_number)
        ids.press("Enter")
    expect(page.locator("[data-testid=pending]")).to_have_text("0")
    expect(page.locator("#jd-sampler")).to_have_attribute("data-offline-ready", "1")  # the phone has a copy
    web.screenshot("nat-sampler-online")

    web.context.set_offline(True)
    for p in people[4:10]:
        ids.fill(p.id_number)
        ids.press("Enter")
    expect(page.locator("[data-testid=sync-state]")).to_have_attribute("data-online", "0")
    expect(page.locator("[data-testid=pending]")).to_have_text("6")
    ids.fill(people[10].id_number)
    ids.press("Enter")
    expect(page.locator("[data-testid=local-error]")).not_to_be_empty()  # the 11th, refused on the phone
    expect(page.locator("[data-testid=tube-count]")).to_contain_text("10/10")
    web.screenshot("nat-sampler-offline")
    assert Sample.objects.count() == 4  # nothing reached the server while offline

    page.locator("[data-testid=close-tube]").click()
    # a new tube with a damaged ID, still offline
    page.locator("[data-testid=barcode]").fill("HY20221101002")
    page.locator("label[for=cap5]").click()
    page.locator("[data-testid=open-tube]").click()
    ids.fill("5.10116E+17")
    ids.press("Enter")
    ids.fill(people[10].id_number)
    ids.press("Enter")
    expect(page.locator("[data-testid=pending]")).to_have_text("10")
    page.reload()  # offline: the phone's copy of the page opens, and the queue is still there
    expect(page.locator("[data-testid=pending]")).to_have_text("10")
    expect(page.locator("[data-testid=tube-count]")).to_contain_text("2/5")

    web.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("[data-testid=pending]")).to_have_text("0", timeout=15_000)
    expect(page.locator("[data-testid=member]").first).to_contain_text("—")  # the damaged ID, refused
    expect(page.locator("[data-testid=answer-refused]")).to_have_count(1)
    expect(page.locator("[data-testid=tube-count]")).to_contain_text("1/5")
    web.screenshot("nat-sampler-synced")

    first = Tube.objects.get(barcode="HY20221101001")
    assert first.members == 10 and first.status == "closed"
    second = Tube.objects.get(barcode="HY20221101002")
    assert second.members == 1 and second.status == "open"
    assert Sample.objects.count() == 11
    assert set(Sample.objects.values_list("person", flat=True)) == {p.pk for p in people[:11]}
    assert Registration.objects.count() == 1 + 10 + 1 + 1 + 2  # every item once, the refusal too
