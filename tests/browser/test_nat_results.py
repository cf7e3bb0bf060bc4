"""Laboratory results in a real browser: the command centre uploads a results file with one positive
pooled tube, sees the report (refusals first), opens the tube and finds its members pushed to screening
for temporary control, with the tube as the list's basis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.nat.actions import do_apply_registrations
from jiedao.nat.tests.test_registration import close_item, open_item, sample_item
from jiedao.screening.models import KeyPerson

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_positive_pool_from_a_results_file(web: Any, cast: Any, signed_in: Any, tmp_path: Path) -> None:
    import datetime as dt

    from jiedao.nat.actions import do_open_round, do_save_site
    from jiedao.registry.models import Resident
    from jiedao.registry.tests.factories import make_household

    site = do_save_site(actor=None, name="甲社区广场采样点", community=cast.community_a, grid=cast.grid_a1)
    now = timezone.now()
    rnd = do_open_round(actor=None, name="第一轮全员核酸", starts_at=now - dt.timedelta(hours=2),
                        ends_at=now + dt.timedelta(hours=8), sites=[site])  # fmt: skip
    people = []
    for _ in range(2):
        hh = make_household(cast.community_a, cast.grid_a1, members=3)
        people += [
            r.person for r in Resident.objects.filter(household=hh).select_related("person").order_by("pk")
        ]
    s = {"round": rnd, "site": site}
    items = []
    for n, code in enumerate(("HY0001", "HY0002")):
        items += [
            open_item(s, code),
            *(sample_item(p, code) for p in people[3 * n : 3 * n + 3]),
            close_item(code),
        ]
    assert {a["status"] for a in do_apply_registrations(actor=None, items=items).items} == {"created"}

    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    path = tmp_path / "天府检测中心-结果.csv"
    path.write_text(
        f"条码,结果,检测时间\nHY0001,阴性,{when}\nHY0002,阳性,{when}\nHY0099,阴性,{when}\n", encoding="utf-8"
    )

    page = signed_in("command")
    web.goto("/nat/results/")
    page.locator("[data-testid=lab]").fill("天府检测中心")
    page.locator("[data-testid=file]").set_input_files(str(path))
    page.locator("[data-testid=upload]").click()
    expect(page.locator("[data-testid=count-positive]")).to_have_text("1")
    expect(page.locator("[data-testid=result-row]").first).to_have_attribute(
        "data-status", "refused"
    )  # HY0099
    web.screenshot("nat-results")

    page.get_by_role("link", name="HY0002").click()
    expect(page.locator("[data-testid=tube-member]")).to_have_count(3)
    expect(page.locator("[data-testid=tube-pushed]")).to_be_visible()
    web.screenshot("nat-tube-positive")
    page.locator("[data-testid=tube-pushed] a").click()
    expect(page.locator("[data-testid=list-basis]")).to_contain_text("HY0002")
    assert KeyPerson.objects.filter(person__in=people[3:], category="positive_pool_member").count() == 3
    assert not KeyPerson.objects.filter(person__in=people[:3]).exists()
