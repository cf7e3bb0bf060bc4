"""The work API: my inbox or every visible item, filters, completing an item, API-key permissions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiedao.core.testing import assert_no_per_row_queries
from jiedao.org.actions import do_create_api_key
from jiedao.work.choices import WorkStatus
from jiedao.work.tests.access import make_item

pytestmark = pytest.mark.django_db


def test_mine_is_the_inbox_and_scope_is_everything_visible(cast, login) -> None:  # type: ignore[no-untyped-def]
    for_workers = make_item(cast, title="网格员的")
    for_me = make_item(cast, title="给社区的", role="", assignee=cast["community_staff_a"])
    make_item(cast, title="乙社区的", community=cast.community_b, grid=cast.grid_b1)
    c = login("community_staff_a")
    mine = c.get("/api/v1/work/items").json()
    assert [r["title"] for r in mine["results"]] == [for_me.title]
    scope = c.get("/api/v1/work/items", {"view": "scope"}).json()
    assert {r["title"] for r in scope["results"]} == {for_workers.title, for_me.title}
    worker = login("grid_worker_a").get("/api/v1/work/items").json()
    assert [r["id"] for r in worker["results"]] == [for_workers.pk]


def test_filters_and_their_errors(cast, login) -> None:  # type: ignore[no-untyped-def]
    make_item(cast, title="逾期", due_at=timezone.now() - dt.timedelta(hours=1))
    make_item(cast, title="未到期")
    c = login("grid_worker_a")
    overdue = c.get("/api/v1/work/items", {"overdue": "true"}).json()["results"]
    assert [r["title"] for r in overdue] == ["逾期"] and overdue[0]["overdue"] is True
    resp = c.get("/api/v1/work/items", {"status": "lost"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "status"
    resp = c.get("/api/v1/work/items", {"assignee": "x; drop"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "assignee"


def test_complete_through_the_api(cast, login) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    c = login("grid_worker_a")
    url = f"/api/v1/work/items/{item.pk}/complete"
    empty = c.post(url, {"outcome": " "}, content_type="application/json")
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "outcome"
    done = c.post(url, {"outcome": "已办结"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == WorkStatus.DONE
    again = c.post(url, {"outcome": "再办"}, content_type="application/json")
    assert again.status_code == 409


def test_completing_an_out_of_scope_item_through_the_api_is_404(cast, login) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    resp = login("grid_worker_b").post(
        f"/api/v1/work/items/{item.pk}/complete", {"outcome": "x"}, content_type="application/json"
    )
    assert resp.status_code == 404
    item.refresh_from_db()
    assert item.status == WorkStatus.OPEN


def test_api_keys_need_work_read_and_work_write(cast, client) -> None:  # type: ignore[no-untyped-def]
    item = make_item(cast)
    worker = cast["grid_worker_a"]
    _, read_only = do_create_api_key(actor=None, name="只读", user=worker, permissions=["work.read"])
    _, places = do_create_api_key(actor=None, name="场所", user=worker, permissions=["places.read"])
    _, writer = do_create_api_key(
        actor=None, name="读写", user=worker, permissions=["work.read", "work.write"]
    )
    assert client.get("/api/v1/work/items", HTTP_X_API_KEY=places).status_code == 403
    assert client.get("/api/v1/work/items", HTTP_X_API_KEY=read_only).json()["count"] == 1
    url = f"/api/v1/work/items/{item.pk}/complete"
    body = {"outcome": "ok"}
    assert (
        client.post(url, body, content_type="application/json", HTTP_X_API_KEY=read_only).status_code == 403
    )
    assert client.post(url, body, content_type="application/json", HTTP_X_API_KEY=writer).status_code == 200


def test_list_endpoint_does_not_query_per_row(cast, login) -> None:  # type: ignore[no-untyped-def]
    c = login("command")

    def add(n: int) -> None:
        for i in range(n):
            make_item(cast, title=f"事项{i}", role="", assignee=cast["grid_worker_a"], dedupe_key="")
            make_item(cast, title=f"升级{i}", due_at=timezone.now() - dt.timedelta(days=1))

    add(2)
    from jiedao.work.actions import do_escalate_overdue

    do_escalate_overdue()
    assert_no_per_row_queries(lambda: c.get("/api/v1/work/items", {"view": "scope", "per_page": 100}), add)
