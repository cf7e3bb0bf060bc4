"""The grid worker's Today page: overdue / due today / done today, and Start and Done by HTMX."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.work.actions import do_complete_work_item, do_create_work_item
from jiedao.work.choices import Priority
from jiedao.work.queries import day_bounds

from .helpers import StaysOnPage, assert_shown, htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _item(cast: Any, title: str, due_at: dt.datetime, **kw: Any) -> Any:
    fields = {"community": cast.community_a, "grid": cast.grid_a1, "role": "grid_worker"}
    fields.update(kw)
    return do_create_work_item(actor=None, kind="test.visit", title=title, due_at=due_at, **fields)


def _board(cast: Any) -> dict[str, Any]:
    now = timezone.now()
    _start, end, _ = day_bounds(now)
    later_today = now + (end - now) / 2
    items = {
        "overdue": _item(
            cast, "逾期：上门核实 3-2-301", now - dt.timedelta(hours=3), priority=Priority.URGENT
        ),
        "today": _item(cast, "今天：回访独居老人 5-1-102", later_today),
        "today2": _item(cast, "今天：张贴防疫告示", later_today, priority=Priority.HIGH),
        "upcoming": _item(cast, "明天：入户走访 7-3-502", end + dt.timedelta(hours=10)),
        "done": _item(cast, "已完成：送药上门", later_today),
        "other_grid": _item(cast, "乙网格的事", later_today, community=cast.community_b, grid=cast.grid_b1),
    }
    do_complete_work_item(actor=cast["grid_worker_a"], item=items["done"], outcome="药已送到，老人状况良好")
    return items


def _section(page: Any, key: str) -> Any:
    return page.locator(f"[data-section='work.{key}']")


def _card(page: Any, item: Any) -> Any:
    return page.locator(f"#work-item-{item.pk}")


def test_grid_worker_starts_and_completes_work_without_reloading(web: Any, cast: Any, signed_in: Any) -> None:
    items = _board(cast)
    page = signed_in("grid_worker_a")  # the grid worker's home is Today
    expect(page).to_have_url(web.base_url + "/work/today/")

    expect(_section(page, "overdue")).to_contain_text(items["overdue"].title)
    expect(_section(page, "due_today")).to_contain_text(items["today"].title)
    expect(_section(page, "due_today")).to_contain_text(items["today2"].title)
    expect(_section(page, "upcoming")).to_contain_text(items["upcoming"].title)
    expect(_section(page, "done_today")).to_contain_text("药已送到，老人状况良好")
    expect(page.get_by_text("乙网格的事")).to_have_count(0)  # grid B1's work is not A1's
    for key, n in (("overdue", 1), ("due_today", 2), ("upcoming", 1), ("done_today", 1)):
        expect(page.get_by_test_id(f"count-{key}")).to_have_text(str(n))
    assert_shown(page.get_by_test_id("today-counts"))
    assert_shown(_card(page, items["overdue"]))
    web.screenshot("today")

    stay = StaysOnPage(page)

    # Start the task due today: the card swaps in place and shows it in progress.
    card = _card(page, items["today"])
    with page.expect_response(htmx(f"/work/items/{items['today'].pk}/start/", "POST")):
        card.get_by_test_id("work-start").click()
    expect(card).to_have_attribute("data-status", "in_progress")
    expect(card.get_by_test_id("work-start")).to_have_count(0)

    # Done without an outcome is refused by the form; with one, the card turns done and the counts move.
    card.get_by_test_id("work-done-open").click()
    card.get_by_test_id("work-done").click()
    expect(card).to_have_attribute("data-status", "in_progress")
    card.get_by_test_id("work-outcome-input").fill("已电话回访，一切正常")
    with page.expect_response(htmx(f"/work/items/{items['today'].pk}/complete/", "POST")):
        card.get_by_test_id("work-done").click()
    expect(card).to_have_attribute("data-status", "done")
    expect(card.get_by_test_id("work-outcome")).to_have_text("已电话回访，一切正常")
    expect(page.get_by_test_id("count-due_today")).to_have_text("1")
    expect(page.get_by_test_id("count-done_today")).to_have_text("2")

    # The overdue item straight to done (no Start first).
    overdue = _card(page, items["overdue"])
    overdue.get_by_test_id("work-done-open").click()
    overdue.get_by_test_id("work-outcome-input").fill("已上门核实，人员在家")
    with page.expect_response(htmx(f"/work/items/{items['overdue'].pk}/complete/", "POST")):
        overdue.get_by_test_id("work-done").click()
    expect(overdue).to_have_attribute("data-status", "done")
    expect(page.get_by_test_id("count-overdue")).to_have_text("0")
    expect(page.get_by_test_id("count-done_today")).to_have_text("3")
    # The section headings' badges follow too (out-of-band swap), not only the counters on top.
    expect(page.locator("#section-count-overdue")).to_have_text("0")
    expect(page.locator("#section-count-done_today")).to_have_text("3")
    stay.check()
    web.screenshot("today-after")

    # A fresh load files both under Done today.
    page.reload()
    done = _section(page, "done_today")
    expect(done).to_contain_text(items["today"].title)
    expect(done).to_contain_text(items["overdue"].title)
    expect(_section(page, "overdue")).to_have_count(0)
