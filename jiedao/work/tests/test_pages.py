"""Work pages: the Today page (sections, counts, HTMX start/done, section registry, empty state), the
work list (filters, sort, export), the item page, query counts and the dashboard cards."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from django.utils import timezone, translation

from jiedao.core.dashboard import cards_for
from jiedao.core.models import AuditEntry
from jiedao.core.testing import assert_no_per_row_queries
from jiedao.work import actions
from jiedao.work.choices import Priority, WorkStatus
from jiedao.work.queries import day_bounds
from jiedao.work.sections import register_today_section, unregister_today_section
from jiedao.work.tests.access import make_item

pytestmark = pytest.mark.django_db


def _times() -> dict[str, dt.datetime]:
    now = timezone.now()
    _start, end, _ = day_bounds(now)
    return {
        "overdue": now - dt.timedelta(hours=3),
        "due_today": now + (end - now) / 2,  # later today, whatever the hour
        "upcoming": end + dt.timedelta(days=1, hours=1),
        "later": end + dt.timedelta(days=10),
    }


def _board(cast) -> dict[str, object]:  # type: ignore[no-untyped-def]
    t = _times()
    items = {
        "overdue": make_item(cast, title="逾期：上门核实", due_at=t["overdue"], priority=Priority.URGENT),
        "due_today": make_item(cast, title="今天：测温回访", due_at=t["due_today"]),
        "upcoming": make_item(cast, title="后天：入户走访", due_at=t["upcoming"]),
        "later": make_item(cast, title="下周：整理台账", due_at=t["later"]),
        "done": make_item(cast, title="已完成：送药", due_at=t["due_today"]),
        "other_grid": make_item(cast, title="乙网格的事", community=cast.community_b, grid=cast.grid_b1),
    }
    actions.do_complete_work_item(actor=cast["grid_worker_a"], item=items["done"], outcome="送到了")
    return items


def _section_titles(html: str, section: str) -> list[str]:
    block = html.split(f'data-section="{section}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'data-testid="work-title">([^<]+)<', block)


# ---- Today ----------------------------------------------------------------------------------------------


def test_today_sorts_work_into_sections_with_counts(cast, login) -> None:  # type: ignore[no-untyped-def]
    _board(cast)
    resp = login("grid_worker_a").get("/work/today/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert _section_titles(html, "work.overdue") == ["逾期：上门核实"]
    assert _section_titles(html, "work.due_today") == ["今天：测温回访"]
    assert _section_titles(html, "work.upcoming") == ["后天：入户走访"]
    assert _section_titles(html, "work.done_today") == ["已完成：送药"]
    assert "下周：整理台账" not in html and "乙网格的事" not in html
    counts = resp.context["board"].counts
    assert counts == {"overdue": 1, "due_today": 1, "upcoming": 1, "done_today": 1}
    assert 'data-testid="count-overdue">1<' in html
    assert "送到了" in html  # the outcome shows on the done card


def test_today_shows_only_the_users_own_work(cast, login) -> None:  # type: ignore[no-untyped-def]
    _board(cast)
    mine = make_item(cast, title="指派给 A2 的", grid=cast.grid_a2, role="", assignee=cast["grid_worker_a2"])
    html = login("grid_worker_a2").get("/work/today/").content.decode()
    assert mine.title in html
    assert "逾期：上门核实" not in html  # A1's work is not A2's


def test_escalated_items_reach_the_supervisors_today_page(cast, login) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast, title="没人处理", due_at=timezone.now() - dt.timedelta(days=1))
    actions.do_escalate_overdue()
    html = login("community_staff_a").get("/work/today/").content.decode()
    assert _section_titles(html, "work.overdue") == ["没人处理"]
    assert item.title in html


def test_empty_today_has_a_clear_empty_state(cast, login) -> None:  # type: ignore[no-untyped-def]
    make_item(cast, community=cast.community_b, grid=cast.grid_b1)
    resp = login("grid_worker_a").get("/work/today/")
    html = resp.content.decode()
    assert 'data-testid="today-empty"' in html and 'data-testid="today-section"' not in html


def test_other_apps_add_sections_in_order(cast, login) -> None:  # type: ignore[no-untyped-def]
    _board(cast)
    register_today_section("test.first", "First", 5, lambda request: '<p id="from-test-first">hi</p>')
    register_today_section("test.hidden", "Hidden", 15, lambda request: None)
    register_today_section("test.between", "Between", 15, lambda request: f"<p>{request.user.username}</p>")
    try:
        html = login("grid_worker_a").get("/work/today/").content.decode()
    finally:
        for key in ("test.first", "test.hidden", "test.between"):
            unregister_today_section(key)
    order = re.findall(r'data-section="([^"]+)"', html)
    assert order == [
        "test.first",
        "work.overdue",
        "test.between",
        "work.due_today",
        "work.upcoming",
        "work.done_today",
    ]
    assert "<p>grid_worker_a</p>" in html


def test_htmx_start_and_done_update_the_card_in_place(cast, login) -> None:  # type: ignore[no-untyped-def]
    items = _board(cast)
    item = items["due_today"]
    c = login("grid_worker_a")
    started = c.post(f"/work/items/{item.pk}/start/", {"ctx": "today"}, HTTP_HX_REQUEST="true")
    html = started.content.decode()
    assert started.status_code == 200 and "<html" not in html
    assert f'id="work-item-{item.pk}"' in html and 'data-status="in_progress"' in html
    assert 'id="today-counts"' in html and 'hx-swap-oob="true"' in html
    refused = c.post(
        f"/work/items/{item.pk}/complete/", {"ctx": "today", "outcome": " "}, HTTP_HX_REQUEST="true"
    )
    assert 'data-testid="work-error"' in refused.content.decode()
    item.refresh_from_db()
    assert item.status == WorkStatus.IN_PROGRESS
    done = c.post(
        f"/work/items/{item.pk}/complete/", {"ctx": "today", "outcome": "体温正常"}, HTTP_HX_REQUEST="true"
    )
    body = done.content.decode()
    assert 'data-status="done"' in body and "体温正常" in body
    assert 'data-testid="count-done_today">2<' in body  # the header counts follow


def test_without_javascript_the_buttons_post_and_return_to_today(cast, login) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    resp = login("grid_worker_a").post(
        f"/work/items/{item.pk}/complete/", {"outcome": "ok", "next": "/work/today/"}
    )
    assert resp.status_code == 302 and resp["Location"] == "/work/today/"
    evil = login("grid_worker_a").post(
        f"/work/items/{make_item(cast).pk}/start/", {"next": "https://evil.example/"}
    )
    assert evil["Location"].startswith("/work/items/")


def test_completing_someone_elses_out_of_scope_item_is_404(cast, login) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    resp = login("grid_worker_b").post(
        f"/work/items/{item.pk}/complete/", {"outcome": "x"}, HTTP_HX_REQUEST="true"
    )
    assert resp.status_code == 404
    item.refresh_from_db()
    assert item.status == WorkStatus.OPEN


def test_today_page_does_not_query_per_card(cast, login) -> None:  # type: ignore[no-untyped-def]
    c = login("grid_worker_a")
    t = _times()

    def add(n: int) -> None:
        for i in range(n):
            key = ("overdue", "due_today", "upcoming")[i % 3]
            make_item(cast, title=f"事项{i}", due_at=t[key], role="", assignee=cast["grid_worker_a"])

    add(3)
    assert_no_per_row_queries(lambda: c.get("/work/today/"), add)


# ---- work list ------------------------------------------------------------------------------------------


def _titles(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return [i.title for i in resp.context["list"].rows]


def test_work_list_filters_and_sorts(cast, login) -> None:  # type: ignore[no-untyped-def]
    _board(cast)
    make_item(cast, title="交给我", kind="test.other", role="", assignee=cast["community_staff_a"])
    c = login("community_staff_a")
    everything = _titles(c.get("/work/"))
    assert "乙网格的事" not in everything and len(everything) == 6
    assert _titles(c.get("/work/", {"overdue": "on"})) == ["逾期：上门核实"]
    assert _titles(c.get("/work/", {"status": "done"})) == ["已完成：送药"]
    assert len(_titles(c.get("/work/", {"status": "open_any"}))) == 5
    assert _titles(c.get("/work/", {"assignee": "me"})) == ["交给我"]
    assert _titles(c.get("/work/", {"kind": "test.other"})) == ["交给我"]
    assert _titles(c.get("/work/", {"priority": Priority.URGENT}))[0] == "逾期：上门核实"
    assert _titles(c.get("/work/", {"sort": "-priority"}))[0] == "逾期：上门核实"
    bad = c.get("/work/", {"assignee": "robert'); drop"})
    assert (
        bad.status_code == 200
        and _titles(bad) == []
        and 'data-testid="filter-errors"' in bad.content.decode()
    )
    partial = c.get("/work/", {"status": "done"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and partial.count('data-testid="work-row"') == 1


def test_field_roles_do_not_get_the_office_work_list(cast, login) -> None:  # type: ignore[no-untyped-def]
    assert login("grid_worker_a").get("/work/").status_code == 403


def test_work_list_does_not_query_per_row(cast, login) -> None:  # type: ignore[no-untyped-def]
    c = login("command")

    def add(n: int) -> None:
        for i in range(n):
            grid = (cast.grid_a1, cast.grid_a2, cast.grid_b1)[i % 3]
            make_item(
                cast,
                title=f"事项{i}",
                community=grid.community,
                grid=grid,
                role="",
                assignee=cast["grid_worker_a"] if i % 2 else None,
            )

    add(3)
    assert_no_per_row_queries(lambda: c.get("/work/", {"per_page": 100}), add)


def test_work_export_is_the_filtered_list(cast, login) -> None:  # type: ignore[no-untyped-def]
    _board(cast)
    resp = login("community_staff_a").get("/work/export.xlsx", {"status": "open_any"})
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 4
    assert {r[0] for r in rows[1:]} == {
        "逾期：上门核实",
        "今天：测温回访",
        "后天：入户走访",
        "下周：整理台账",
    }
    assert AuditEntry.objects.get(action="work.export").changes["rows"] == 4


# ---- item page ------------------------------------------------------------------------------------------


def test_item_page_shows_history_and_supervisor_tools(cast, login) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    staff_page = login("community_staff_a").get(f"/work/items/{item.pk}/").content.decode()
    assert 'data-testid="reassign-form"' in staff_page and 'data-testid="cancel-form"' in staff_page
    assert "创建工作事项" in staff_page
    worker_page = login("grid_worker_a").get(f"/work/items/{item.pk}/").content.decode()
    assert 'data-testid="item-done"' in worker_page and 'data-testid="cancel-form"' not in worker_page


def test_reassign_and_cancel_through_the_page(cast, login) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    c = login("community_staff_a")
    bad = c.post(f"/work/items/{item.pk}/reassign/", {"assignee": cast["grid_worker_b"].pk})
    assert bad.status_code == 422  # B's worker is not a choice for an A1 item
    ok = c.post(
        f"/work/items/{item.pk}/reassign/", {"assignee": cast["grid_worker_a"].pk, "role": "grid_worker"}
    )
    assert ok.status_code == 302
    item.refresh_from_db()
    assert item.assignee_id == cast["grid_worker_a"].pk
    no_reason = c.post(f"/work/items/{item.pk}/cancel/", {"reason": ""})
    assert no_reason.status_code == 422
    assert c.post(f"/work/items/{item.pk}/cancel/", {"reason": "重复"}).status_code == 302
    item.refresh_from_db()
    assert item.status == WorkStatus.CANCELLED


# ---- dashboard ------------------------------------------------------------------------------------------


def test_dashboard_cards_count_open_and_overdue(cast) -> None:  # type: ignore[no-untyped-def]
    _board(cast)
    with translation.override("en"):
        staff = {str(c.title): c for c in cards_for(cast["community_staff_a"])}
        other = {str(c.title): c for c in cards_for(cast["community_staff_b"])}
    assert staff["Open work items"].value == 4 and staff["Overdue work items"].value == 1
    assert staff["Overdue work items"].tone == "danger"
    assert other["Open work items"].value == 1 and other["Overdue work items"].value == 0
    assert other["Overdue work items"].tone == ""
