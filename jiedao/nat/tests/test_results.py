"""Laboratory results: recorded once per tube, bad rows refused with their reason, the same file twice a
no-op; a positive pool puts its members under temporary control (pushed to screening with the tube as
the basis) and alerts the command centre and the members' grids."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import timezone

from jiedao.core.errors import Forbidden, InvalidInput
from jiedao.nat.actions import do_apply_registrations
from jiedao.nat.models import ResultBatch, Tube
from jiedao.nat.results import do_follow_up_positive_tube, do_record_results, rows_from_file
from jiedao.nat.tests.test_registration import close_item, open_item, sample_item, setup  # noqa: F401
from jiedao.screening.models import KeyPerson, PushedList
from jiedao.work.models import WorkItem


@pytest.fixture
def tubes(setup: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Three sealed tubes of four people each, and one left open."""
    s = setup
    items: list[dict[str, Any]] = []
    for n in range(3):
        code = f"TUBE00000{n + 1}"
        items += [
            open_item(s, code),
            *(sample_item(p, code) for p in s["people"][4 * n : 4 * n + 4]),
            close_item(code),
        ]
    items.append(open_item(s, "TUBE000009"))
    answers = do_apply_registrations(actor=s["sampler"], items=items).items
    assert {a["status"] for a in answers} == {"created"}
    return s


def csv_file(rows: list[tuple[str, str, str]]) -> bytes:
    out = io.StringIO()
    out.write("条码,结果,检测时间\n")
    for r in rows:
        out.write(",".join(r) + "\n")
    return out.getvalue().encode("utf-8")


def now_text(minutes_ago: int = 1) -> str:
    return timezone.localtime(timezone.now() - dt.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%d %H:%M")


def test_results_are_recorded_and_bad_rows_refused(cast: Any, tubes: dict[str, Any]) -> None:
    data = csv_file(
        [
            ("TUBE000001", "阴性", now_text()),
            ("TUBE000002", "阴性", now_text()),
            ("NOSUCH0001", "阴性", now_text()),  # unknown
            ("TUBE000009", "阴性", now_text()),  # never sealed
            ("TUBE000003", "阴性", now_text(24 * 60)),  # before the tube was sealed
            ("TUBE000003", "绿色", now_text()),  # not a result
            ("TUBE000001", "阴性", now_text()),  # the same again in the file
        ]
    )
    rows = rows_from_file("results.csv", data)
    report = do_record_results(
        actor=cast["command"], rows=rows, lab="天府检测中心", filename="results.csv", data=data
    )
    statuses = [(i["barcode"], i["status"], i.get("field")) for i in report.items]
    assert statuses == [
        ("TUBE000001", "recorded", None), ("TUBE000002", "recorded", None), ("NOSUCH0001", "refused", "barcode"),
        ("TUBE000009", "refused", "barcode"), ("TUBE000003", "refused", "tested_at"), ("TUBE000003", "refused", "result"),
        ("TUBE000001", "duplicate", None),
    ]  # fmt: skip
    assert report.items[2]["row"] == 4  # the spreadsheet's own row number (header on row 1)
    assert Tube.objects.get(barcode="TUBE000001").result == "negative"
    assert Tube.objects.get(barcode="TUBE000003").result == ""
    # the same file again: the same report, nothing recorded twice
    again = do_record_results(actor=cast["command"], rows=rows, lab="天府检测中心", data=data)
    assert again.replay and again.items == report.items and ResultBatch.objects.count() == 1
    # a different result for a reported tube is refused, never overwritten
    other = do_record_results(
        actor=cast["command"], rows=[{"row": 1, "barcode": "TUBE000001", "result": "阳性"}], lab="x"
    )
    assert (
        other.items[0]["status"] == "refused" and Tube.objects.get(barcode="TUBE000001").result == "negative"
    )


def test_a_positive_pool_puts_its_members_under_temporary_control(
    cast: Any, tubes: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    members = tubes["people"][4:8]
    with django_capture_on_commit_callbacks(execute=True):
        report = do_record_results(
            actor=cast["command"],
            rows=[{"row": 1, "barcode": "TUBE000002", "result": "阳性"}],
            lab="天府检测中心",
        )
    assert report.counts["positive"] == 1
    tube = Tube.objects.get(barcode="TUBE000002")
    assert tube.positive_handled_at is not None and tube.pushed_list is not None
    plist = tube.pushed_list
    assert plist.source == "positive_pool" and "TUBE000002" in plist.basis_label and plist.rows == 4
    kps = KeyPerson.objects.filter(person__in=members)
    assert kps.count() == 4 and {k.category for k in kps} == {"positive_pool_member"}
    items = WorkItem.objects.filter(kind="nat.positive_pool")
    assert items.filter(role="command", priority=4).count() == 1 and items.count() == 1
    # a single-tube re-test item per member, for the member's grid
    retests = WorkItem.objects.filter(kind="nat.retest")
    assert sorted(retests.values_list("subject_id", flat=True)) == sorted(str(p.pk) for p in members)
    assert set(retests.values_list("grid_id", "priority")) == {(cast.grid_a1.pk, 4)}
    # once: a second follow-up changes nothing
    do_follow_up_positive_tube(tube_id=tube.pk)
    assert PushedList.objects.filter(source="positive_pool").count() == 1 and items.count() == 1
    assert retests.count() == 4


def test_who_records_and_bad_files(cast: Any, tubes: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        do_record_results(actor=cast["community_staff_a"], rows=[], lab="x")
    with pytest.raises(InvalidInput) as no_lab:
        do_record_results(actor=cast["command"], rows=[], lab=" ")
    assert no_lab.value.field == "lab"
    with pytest.raises(InvalidInput) as header:
        rows_from_file("r.csv", "条形码,检测结论\nTUBE000001,阴性\n".encode())
    assert header.value.field == "file"
    with pytest.raises(InvalidInput):
        rows_from_file("r.csv", "条码,结果\n".encode())  # a header and no rows


def test_results_page_and_tube_page(cast: Any, tubes: dict[str, Any], login: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = login("command")
    data = csv_file(
        [
            ("TUBE000001", "阴性", now_text()),
            ("TUBE000003", "阳性", now_text()),
            ("BADTUBE001", "阴性", now_text()),
        ]
    )
    resp = client.post("/nat/results/", {"lab": "天府检测中心", "file": SimpleUploadedFile("r.csv", data)})
    html = resp.content.decode()
    assert resp.status_code == 200 and 'data-testid="count-positive">1<' in html
    assert html.index('data-status="refused"') < html.index('data-status="recorded"')  # refusals first
    tube_page = client.get("/nat/tubes/TUBE000003/").content.decode()
    assert tube_page.count('data-testid="tube-member"') == 4
    assert tubes["people"][8].id_number not in tube_page  # masked
    assert login("community_staff_b").get("/nat/tubes/TUBE000003/").status_code == 404


def test_results_api(cast: Any, tubes: dict[str, Any], client: Any) -> None:
    from jiedao.org.actions import do_create_api_key

    _, key = do_create_api_key(actor=None, name="实验室", user=cast["command"], permissions=["nat.results"])
    body = {
        "key": "lab-batch-1",
        "lab": "天府检测中心",
        "rows": [{"barcode": "TUBE000001", "result": "negative"}],
    }
    first = client.post("/api/v1/nat/results", body, content_type="application/json", HTTP_X_API_KEY=key)
    assert first.status_code == 200 and first.json()["counts"]["recorded"] == 1
    again = client.post("/api/v1/nat/results", body, content_type="application/json", HTTP_X_API_KEY=key)
    assert again.json()["replay"] is True and again.json()["batch"] == first.json()["batch"]
