"""A small round end to end in a real browser, and the round's planning pages: the command centre
opens a site (with its sampler) and a round; the sampler registers a pooled tube on a phone with the
network cut in the middle; the lab's file has the tube positive; its members are under control; the
round shows the missing, a grid worker exempts one of them, the grids get their lists; the tubes
reconcile; sites by compound; key-industry groups."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.nat.actions import do_apply_registrations, do_open_round, do_save_site
from jiedao.nat.models import Exemption, Sample, Tube
from jiedao.nat.tests.test_registration import close_item, open_item, sample_item
from jiedao.registry.models import Compound, Resident
from jiedao.registry.tests.factories import make_household
from jiedao.screening.models import KeyPerson
from jiedao.work.models import WorkItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _people(cast: Any, households: int, members: int = 3) -> list[Any]:
    people = []
    for _ in range(households):
        hh = make_household(cast.community_a, cast.grid_a1, members=members)
        people += [
            r.person for r in Resident.objects.filter(household=hh).select_related("person").order_by("pk")
        ]
    return people


def test_a_small_round_end_to_end(web: Any, cast: Any, signed_in: Any, tmp_path: Path) -> None:
    people = _people(cast, 3)  # nine residents of grid A1

    # the command centre opens a site with its sampler, and a round
    page = signed_in("command")
    web.goto("/nat/sites/new")
    form = page.locator("[data-testid=site-form]")
    form.locator("input[name=name]").fill("甲社区广场采样点")
    form.locator("select[name=community]").select_option(str(cast.community_a.pk))
    form.locator("input[name=lanes]").fill("3")
    form.locator(f"input[name=staff][value='{cast['sampler_a'].pk}']").check()
    web.screenshot("nat-site-form-staff")
    page.locator("[data-testid=save-site]").click()
    expect(page.locator("[data-testid=status-form]")).to_be_visible()
    web.goto("/nat/rounds/new")
    form = page.locator("[data-testid=round-form]")
    form.locator("input[name=name]").fill("第一轮全员核酸")
    now = timezone.localtime()
    form.locator("input[name=starts_at]").fill((now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=ends_at]").fill((now + dt.timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("[data-testid=open-round]").click()
    expect(page.locator("[data-testid=coverage-percent]")).to_have_text("0.0%")
    round_url = page.url

    # the sampler: a 10-in-1 tube on a phone, the network cut after two people and restored
    web.context.clear_cookies()
    page = signed_in("sampler_a")
    page.set_viewport_size(PHONE)
    web.goto("/nat/sample/")
    page.locator("[data-testid=barcode]").fill("HY2022E2E01")
    page.locator("[data-testid=open-tube]").click()
    ids = page.locator("[data-testid=id-number]")
    for p in people[:2]:
        ids.fill(p.id_number)
        ids.press("Enter")
    expect(page.locator("[data-testid=pending]")).to_have_text("0")
    web.context.set_offline(True)
    for p in people[2:5]:
        ids.fill(p.id_number)
        ids.press("Enter")
    page.locator("[data-testid=close-tube]").click()
    expect(page.locator("[data-testid=pending]")).to_have_text("4")
    web.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("[data-testid=pending]")).to_have_text("0", timeout=15_000)
    tube = Tube.objects.get(barcode="HY2022E2E01")
    assert tube.status == "closed" and tube.members == 5 and Sample.objects.count() == 5

    # the lab's file: the tube is positive (tested a minute from now: the file's times have no seconds)
    when = (timezone.localtime() + dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    path = tmp_path / "结果.csv"
    path.write_text(f"条码,结果,检测时间\nHY2022E2E01,阳性,{when}\n", encoding="utf-8")
    web.context.clear_cookies()
    page = signed_in("command")
    page.set_viewport_size({"width": 1280, "height": 900})
    web.goto("/nat/results/")
    page.locator("[data-testid=lab]").fill("天府检测中心")
    page.locator("[data-testid=file]").set_input_files(str(path))
    page.locator("[data-testid=upload]").click()
    expect(page.locator("[data-testid=count-positive]")).to_have_text("1")
    page.get_by_role("link", name="HY2022E2E01").click()
    expect(page.locator("[data-testid=tube-member]")).to_have_count(5)
    assert KeyPerson.objects.filter(person__in=people[:5], category="positive_pool_member").count() == 5
    assert WorkItem.objects.filter(kind="nat.retest").count() == 5

    # the round: 5 of 9 sampled; the grid worker sees the four missing and exempts one
    page.goto(round_url)
    expect(page.locator("[data-testid=coverage-percent]")).to_have_text("55.6%")
    expect(page.locator("[data-testid=positive-count]")).to_have_text("1")
    expect(page.locator("[data-testid=reconcile-state]")).to_be_visible()
    web.screenshot("nat-round-e2e")
    page.on("dialog", lambda d: d.accept())
    page.locator("[data-testid=issue-missing]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert WorkItem.objects.filter(kind="nat.missing", grid=cast.grid_a1).count() == 1
    # and from now on every two hours by themselves
    page.locator("[data-testid=missing-every]").select_option("2")
    page.locator("[data-testid=missing-every-save]").click()
    expect(page.locator("[data-testid=missing-next]")).to_be_visible()
    web.screenshot("nat-round-schedule")

    web.context.clear_cookies()
    page = signed_in("grid_worker_a")
    page.set_viewport_size(PHONE)
    web.goto(round_url.replace(web.base_url, "") + "missing/")
    expect(page.locator("[data-testid=missing-row]")).to_have_count(4)
    row = page.locator("[data-testid=missing-row]", has_text=people[5].name)
    row.locator("[data-testid=exempt-open]").click()
    row.locator("[data-testid=exempt-reason]").select_option("home_sampling")
    row.locator("[data-testid=exempt-note]").fill("卧床，需上门采样")
    web.screenshot("nat-missing-exempt")
    row.locator("[data-testid=exempt-save]").click()
    expect(row.locator("[data-testid=exempted]")).to_be_visible()
    exemption = Exemption.objects.get(person=people[5])
    assert exemption.work_item is not None and exemption.work_item.kind == "nat.home_sampling"
    page.reload()
    expect(page.locator("[data-testid=missing-row]")).to_have_count(3)

    # a person outside the worker's area (a form changed by hand): a notice says so, nothing changes
    outsider = Resident.objects.get(
        household=make_household(cast.community_b, cast.grid_b1, members=1)
    ).person
    row = page.locator("[data-testid=missing-row]").first
    row.locator("[data-testid=exempt-open]").click()
    row.locator("input[name=person]").evaluate("(el, pk) => { el.value = String(pk); }", outsider.pk)
    row.locator("[data-testid=exempt-reason]").select_option("away")
    row.locator("[data-testid=exempt-save]").click()
    expect(page.locator("[data-testid=htmx-error]")).to_contain_text("(404)")
    expect(page.locator("[data-testid=htmx-error]")).to_contain_text("管辖范围")
    expect(row.locator("[data-testid=exempted]")).to_have_count(0)
    web.screenshot("nat-missing-notice")
    assert not Exemption.objects.filter(person=outsider).exists()


def _round_with_tubes(cast: Any) -> Any:
    site = do_save_site(actor=None, name="甲社区广场采样点", community=cast.community_a, grid=cast.grid_a1,
                        lat=30.501, lng=104.051)  # fmt: skip
    other = do_save_site(actor=None, name="乙社区采样点", community=cast.community_b, lat=30.6, lng=104.2)
    now = timezone.now()
    rnd = do_open_round(actor=None, name="第二轮全员核酸", starts_at=now - dt.timedelta(hours=3),
                        ends_at=now + dt.timedelta(hours=8), sites=[site, other])  # fmt: skip
    people = _people(cast, 4)
    s = {"round": rnd, "site": site}
    items = []
    for n in range(3):
        code = f"HYREC0000{n}"
        items += [
            open_item(s, code),
            *(sample_item(p, code) for p in people[3 * n : 3 * n + 3]),
            close_item(code),
        ]
    assert {a["status"] for a in do_apply_registrations(actor=None, items=items).items} == {"created"}
    return rnd


def test_reconcile_and_sites_by_compound(web: Any, cast: Any, signed_in: Any, tmp_path: Path) -> None:
    rnd = _round_with_tubes(cast)
    Compound.objects.filter(community=cast.community_a).update(lat=30.50, lng=104.05)
    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    path = tmp_path / "接收.csv"
    path.write_text(
        f"条码,结果,接收时间,检测时间\nHYREC00000,,{when},\nHYREC00001,阴性,,{when}\n", encoding="utf-8"
    )
    page = signed_in("command")
    web.goto("/nat/results/")
    page.locator("[data-testid=lab]").fill("天府检测中心")
    page.locator("[data-testid=file]").set_input_files(str(path))
    page.locator("[data-testid=upload]").click()
    expect(page.locator("[data-testid=count-received]")).to_have_text("1")
    web.goto(f"/nat/rounds/{rnd.pk}/reconcile/")
    expect(page.locator("[data-testid=reconcile-total]")).to_contain_text("3")
    expect(page.locator("[data-testid=gap-row]")).to_have_count(1)  # HYREC00002, never received
    web.screenshot("nat-reconcile")
    web.goto(f"/nat/rounds/{rnd.pk}/assignments/")
    page.on("dialog", lambda d: d.accept())
    page.locator("[data-testid=assign-nearest]").click()
    expect(page.locator("[data-testid=assignment-row]").first.locator("select")).to_have_value(
        str(rnd.sites.get(name="甲社区广场采样点").pk)
    )
    web.screenshot("nat-assignments")
    web.goto(f"/nat/rounds/{rnd.pk}/?level=building")
    expect(page.locator("[data-testid=level-building]")).to_have_class("btn btn-primary")
    expect(page.locator("[data-testid=coverage-row]")).not_to_have_count(0)
    web.screenshot("nat-round-buildings")


def test_a_key_industry_group(web: Any, cast: Any, signed_in: Any, tmp_path: Path) -> None:
    people = _people(cast, 1)
    page = signed_in("community_staff_a")
    web.goto("/nat/groups/")
    expect(page.locator("[data-testid=empty]")).to_be_visible()
    page.locator("[data-testid=group-new]").click()
    form = page.locator("[data-testid=group-form]")
    form.locator("input[name=name]").fill("甲社区外卖骑手")
    form.locator("select[name=industry]").select_option("delivery")
    form.locator("input[name=frequency_days]").fill("3")
    form.locator("select[name=community]").select_option(str(cast.community_a.pk))
    web.screenshot("nat-group-form")
    page.locator("[data-testid=save-group]").click()
    page.locator("[data-testid=member-name]").fill(people[0].name)
    page.locator("[data-testid=member-id]").fill(people[0].id_number)
    page.locator("[data-testid=member-add]").click()
    expect(page.locator("[data-testid=members-count]")).to_have_text("1")
    path = tmp_path / "骑手.csv"
    path.write_text(
        f"姓名,身份证号,单位\n{people[1].name},{people[1].id_number},美团\n错号,110105194912310021,饿了么\n",
        encoding="utf-8",
    )
    page.locator("[data-testid=members-file]").set_input_files(str(path))
    page.locator("[data-testid=members-upload-btn]").click()
    expect(page.locator("[data-testid=member-refused]")).to_have_count(1)
    expect(page.locator("[data-testid=overdue-count]")).to_have_text("2")  # nobody tested yet
    web.screenshot("nat-group")
    web.goto("/nat/groups/")
    expect(page.locator("[data-testid=overdue]")).to_have_text("2")
    web.screenshot("nat-groups")
