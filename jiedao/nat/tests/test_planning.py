"""Planning a round around its people: sites by compound, exemptions with reasons (home sampling as a
work item), coverage by compound and building, the grids' missing-list work items; reconciling tubes
sent = received = tested = reported; re-test and re-sample items; key-industry groups."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from jiedao.core.errors import Forbidden, InvalidInput, NotFound
from jiedao.core.scoping import Scope
from jiedao.nat import coverage
from jiedao.nat.actions import do_apply_registrations
from jiedao.nat.groups import (
    do_add_group_members,
    do_export_group,
    do_save_group,
    drawn,
    member_rows,
    member_rows_from_file,
    period_of,
)
from jiedao.nat.models import Exemption, RoundAssignment, Tube
from jiedao.nat.results import do_record_results, rows_from_file
from jiedao.nat.rounds import (
    do_assign_nearest_sites,
    do_assign_site,
    do_exempt_person,
    do_issue_missing_work_items,
    do_lift_exemption,
)
from jiedao.nat.tests.test_registration import close_item, open_item, sample_item, setup  # noqa: F401
from jiedao.registry.models import Compound
from jiedao.registry.tests.factories import make_household, resident_id
from jiedao.work.models import WorkItem

EVERYTHING = Scope(everything=True)


def _text(minutes_ago: float) -> str:
    return timezone.localtime(timezone.now() - dt.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def tubes(setup: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Three sealed 10-in-1 tubes of four people each (sealed about 20 minutes ago)."""
    s = setup
    items: list[dict[str, Any]] = []
    for n in range(3):
        code = f"PLAN00000{n + 1}"
        items += [open_item(s, code), *(sample_item(p, code) for p in s["people"][4 * n : 4 * n + 4])]
        items.append({**close_item(code), "at": (timezone.now() - dt.timedelta(minutes=20)).isoformat()})
    assert {a["status"] for a in do_apply_registrations(actor=None, items=items).items} == {"created"}
    return s


# ---- reconciliation ----------------------------------------------------------------------------------


def test_receipts_results_and_the_reconciliation(cast: Any, tubes: dict[str, Any]) -> None:
    rnd = tubes["round"]
    rec = coverage.reconciliation(rnd)["total"]
    assert (rec["sent"], rec["received"], rec["tested"], rec["reported"]) == (3, 0, 0, 0)
    # the lab's receipt list: 条码 + 接收时间, no result column
    receipt = "条码,接收时间\nPLAN000001,{t}\nPLAN000002,{t}\nNOSUCH0001,{t}\n".format(t=_text(10)).encode()
    report = do_record_results(actor=None, rows=rows_from_file("r.csv", receipt), lab="天府检测中心")
    assert report.counts == {"recorded": 0, "received": 2, "duplicate": 0, "refused": 1, "positive": 0}
    rec = coverage.reconciliation(rnd)["total"]
    assert (rec["received"], rec["gaps"]["not_received"], rec["gaps"]["not_tested"]) == (2, 1, 2)
    assert list(coverage.unreconciled_tubes(rnd, "not_received").values_list("barcode", flat=True)) == [
        "PLAN000003"
    ]
    # results: one negative, one invalid, and one whose times are out of order (tested before received)
    results = (
        "条码,结果,接收时间,检测时间,报告时间\n"
        f"PLAN000001,阴性,,{_text(5)},{_text(4)}\n"
        f"PLAN000002,无效,,{_text(5)},\n"
        f"PLAN000003,阴性,{_text(5)},{_text(8)},\n"
    ).encode()
    report = do_record_results(actor=None, rows=rows_from_file("t.csv", results), lab="天府检测中心")
    assert report.counts["recorded"] == 2 and report.counts["refused"] == 1
    refused = next(i for i in report.items if i["status"] == "refused")
    assert refused["barcode"] == "PLAN000003" and refused["field"] == "tested_at"
    tube1 = Tube.objects.get(barcode="PLAN000001")
    assert tube1.received_at is not None and tube1.result_at is not None and tube1.reported_at is not None
    assert tube1.received_at <= tube1.result_at <= tube1.reported_at
    rec = coverage.reconciliation(rnd)
    total = rec["total"]
    assert (total["sent"], total["received"], total["tested"], total["reported"], total["invalid"]) == (
        3,
        2,
        2,
        1,
        1,
    )
    assert not total["balanced"] and [r["site__name"] for r in rec["sites"]] == [tubes["site"].name]
    # the invalid tube's members are to be sampled again: one work item each, for their grid
    resample = WorkItem.objects.filter(kind="nat.resample")
    assert sorted(resample.values_list("subject_id", flat=True)) == sorted(
        str(p.pk) for p in tubes["people"][4:8]
    )


def test_a_file_without_result_or_receipt_column_is_refused() -> None:
    with pytest.raises(InvalidInput) as exc:
        rows_from_file("x.csv", "条码,检测时间\nPLAN000001,2022-11-01 10:00\n".encode())
    assert "结果" in exc.value.message and exc.value.field == "file"


def test_a_negative_single_tube_closes_the_retest(
    cast: Any, tubes: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    s = tubes
    with django_capture_on_commit_callbacks(execute=True):
        do_record_results(
            actor=None, rows=[{"row": 1, "barcode": "PLAN000001", "result": "阳性"}], lab="检测中心"
        )
    retests = WorkItem.objects.filter(kind="nat.retest")
    assert retests.count() == 4 and set(retests.values_list("status", flat=True)) == {"open"}
    first = s["people"][0]
    now = timezone.now().isoformat()
    single = [
        {**open_item(s, "SINGLE0001", capacity=1), "at": now},
        {**sample_item(first, "SINGLE0001", repeat_reason="单采复核"), "at": now},
        {**close_item("SINGLE0001"), "at": now},
    ]
    answers = do_apply_registrations(actor=None, items=single).items
    assert [a["status"] for a in answers] == ["created"] * 3, answers
    do_record_results(
        actor=None, rows=[{"row": 1, "barcode": "SINGLE0001", "result": "阴性"}], lab="检测中心"
    )
    done = retests.filter(subject_id=str(first.pk)).get()
    assert done.status == "done" and "SINGLE0001" in done.outcome
    assert retests.filter(status="open").count() == 3  # the others still wait for theirs


# ---- exemptions, coverage levels, missing work items ----------------------------------------------------


def test_exemptions_with_reasons_and_home_sampling(cast: Any, setup: dict[str, Any]) -> None:  # noqa: F811
    s = setup
    rnd, bedridden, away = s["round"], s["people"][0], s["people"][1]
    before = coverage.coverage(rnd, EVERYTHING)[1]
    ex = do_exempt_person(
        actor=cast["grid_worker_a"], rnd=rnd, person=bedridden, reason="home_sampling", note="卧床"
    )
    item = ex.work_item
    assert item is not None and item.kind == "nat.home_sampling" and item.grid_id == cast.grid_a1.pk
    assert item.subject_id == str(bedridden.pk)
    do_exempt_person(actor=cast["community_staff_a"], rnd=rnd, person=away, reason="away")
    total = coverage.coverage(rnd, EVERYTHING)[1]
    assert (total.expected, total.exempt, total.missing) == (before.expected, 2, before.missing - 2)
    assert not coverage.missing(rnd, EVERYTHING).filter(person__in=[bedridden, away]).exists()
    # the bedridden person sampled at home counts as sampled, no longer as exempt
    items = [
        open_item(s, "HOME000001", capacity=1),
        sample_item(bedridden, "HOME000001"),
        close_item("HOME000001"),
    ]
    do_apply_registrations(actor=None, items=items)
    total = coverage.coverage(rnd, EVERYTHING)[1]
    assert (total.tested, total.exempt) == (1, 1)
    # the same person again changes the reason, no second row; "other" needs a note
    do_exempt_person(actor=None, rnd=rnd, person=away, reason="infant")
    assert Exemption.objects.filter(round=rnd, person=away).get().reason == "infant"
    with pytest.raises(InvalidInput) as exc:
        do_exempt_person(actor=None, rnd=rnd, person=away, reason="other")
    assert exc.value.field == "note"
    with pytest.raises(InvalidInput):
        do_exempt_person(actor=None, rnd=rnd, person=away, reason="asleep")
    # out of the worker's grid or community reads as not found
    with pytest.raises(NotFound):
        do_exempt_person(actor=cast["grid_worker_a2"], rnd=rnd, person=away, reason="away")
    with pytest.raises(NotFound):
        do_exempt_person(actor=cast["community_staff_b"], rnd=rnd, person=away, reason="away")
    # someone outside the round's scope
    rnd.communities.set([cast.community_b])
    with pytest.raises(InvalidInput) as exc:
        do_exempt_person(actor=None, rnd=rnd, person=s["people"][2], reason="away")
    assert exc.value.field == "person"
    rnd.communities.set([])
    # the bedridden person was sampled at home: the item is done, and lifting leaves it so
    item.refresh_from_db()
    assert item.status == "done"
    do_lift_exemption(actor=cast["grid_worker_a"], exemption=ex)
    item.refresh_from_db()
    assert item.status == "done" and not Exemption.objects.filter(pk=ex.pk).exists()


def test_coverage_by_compound_and_building_adds_up(cast: Any, setup: dict[str, Any]) -> None:  # noqa: F811
    s = setup
    make_household(cast.community_a, cast.grid_a1, members=2, compound="南湖尚景", building="3")
    do_apply_registrations(
        actor=None, items=[open_item(s, "LEVEL00001"), sample_item(s["people"][0], "LEVEL00001")]
    )
    totals = {}
    for level in ("community", "grid", "compound", "building"):
        rows, total = coverage.coverage(s["round"], EVERYTHING, level)
        assert sum(r.expected for r in rows) == total.expected and sum(r.tested for r in rows) == 1
        totals[level] = (total.expected, total.tested, total.missing)
    assert len(set(totals.values())) == 1
    rows = coverage.coverage(s["round"], EVERYTHING, "compound")[0]
    nanhu = next(r for r in rows if r.label == "南湖尚景")
    assert (nanhu.expected, nanhu.tested) == (2, 0)
    buildings = [r.label for r in coverage.coverage(s["round"], EVERYTHING, "building")[0]]
    assert "南湖尚景 3" in buildings
    # the map's communities, added up from any level's rows, are the community level's own counts
    make_household(cast.community_b, cast.grid_b1, members=3)
    communities = coverage.coverage(s["round"], EVERYTHING, "community")[0]
    assert len(communities) == 2
    for level in ("grid", "compound", "building"):
        summed = coverage.by_community(coverage.coverage(s["round"], EVERYTHING, level)[0])
        assert [(r.label, r.community_id, r.expected, r.tested, r.exempt) for r in summed] == [
            (r.label, r.community_id, r.expected, r.tested, r.exempt) for r in communities
        ]


def test_missing_work_items_per_grid_once(cast: Any, setup: dict[str, Any]) -> None:  # noqa: F811
    s = setup
    rnd = s["round"]
    make_household(cast.community_a, cast.grid_a2, members=2)
    with pytest.raises(Forbidden):
        do_issue_missing_work_items(actor=cast["community_staff_a"], rnd=rnd)
    counts = do_issue_missing_work_items(actor=cast["command"], rnd=rnd)
    items = WorkItem.objects.filter(kind="nat.missing")
    assert counts["created"] == 2 and counts["people"] == 14
    a1 = items.get(grid=cast.grid_a1)
    assert "12" in a1.title and a1.subject_url.endswith(f"?grid={cast.grid_a1.pk}")
    # sample three of A1 and issue again: the item is brought up to date, not doubled
    do_apply_registrations(
        actor=None,
        items=[open_item(s, "MISS000001"), *(sample_item(p, "MISS000001") for p in s["people"][:3])],
    )
    counts = do_issue_missing_work_items(actor=cast["command"], rnd=rnd)
    assert (counts["created"], counts["updated"]) == (0, 2) and items.count() == 2
    a1.refresh_from_db()
    assert "9" in a1.title


def test_sites_by_compound(cast: Any, setup: dict[str, Any]) -> None:  # noqa: F811
    s = setup
    rnd, site, other = s["round"], s["site"], s["other"]
    near = make_household(cast.community_a, cast.grid_a1, members=1, compound="近处小区").flat.compound
    far = make_household(cast.community_b, None, members=1, compound="乙小区").flat.compound
    nowhere = make_household(cast.community_a, cast.grid_a1, members=1, compound="无坐标小区").flat.compound
    Compound.objects.filter(pk=near.pk).update(lat=30.50, lng=104.05)
    Compound.objects.filter(pk=far.pk).update(lat=30.40, lng=104.00)
    site.lat, site.lng, other.lat, other.lng = 30.501, 104.051, 30.60, 104.20
    site.save()
    other.save()
    with pytest.raises(Forbidden):
        do_assign_site(actor=cast["community_staff_b"], rnd=rnd, compound=near, site=site)
    do_assign_site(actor=cast["community_staff_a"], rnd=rnd, compound=nowhere, site=other)
    counts = do_assign_nearest_sites(actor=cast["command"], rnd=rnd)
    got = dict(RoundAssignment.objects.filter(round=rnd).values_list("compound__name", "site__name"))
    # near → the site beside it; far (community B) → B's own site even though A's is nearer
    assert got["近处小区"] == site.name and got["乙小区"] == other.name and got["无坐标小区"] == other.name
    assert counts["kept"] == 1 and counts["no_coordinates"] >= 1
    # a site that does not sample for the round is refused; None takes the assignment away
    lonely = type(site).objects.create(name="不参加本轮的采样点", community=cast.community_a)
    with pytest.raises(InvalidInput):
        do_assign_site(actor=None, rnd=rnd, compound=near, site=lonely)
    do_assign_site(actor=None, rnd=rnd, compound=near, site=None)
    assert not RoundAssignment.objects.filter(round=rnd, compound=near).exists()


# ---- key-industry groups ------------------------------------------------------------------------------


def test_group_members_due_and_overdue(cast: Any, setup: dict[str, Any]) -> None:  # noqa: F811
    s = setup
    with pytest.raises(InvalidInput) as exc:
        do_save_group(actor=None, name="骑手", industry="delivery", frequency_days=0)
    assert exc.value.field == "frequency_days"
    with pytest.raises(Forbidden):
        do_save_group(actor=cast["community_staff_b"], name="骑手", industry="delivery", frequency_days=2,
                      community=cast.community_a)  # fmt: skip
    group = do_save_group(actor=cast["community_staff_a"], name="甲社区外卖骑手", industry="delivery",
                          frequency_days=3, community=cast.community_a)  # fmt: skip
    tested, untested = s["people"][0], s["people"][1]
    rows = [
        {"row": 2, "name": tested.name, "id_number": tested.id_number, "employer": "美团"},
        {"row": 3, "name": untested.name, "id_number": untested.id_number},
        {"row": 4, "name": "外地骑手", "id_number": resident_id(9_999)},  # not on the register: added
        {"row": 5, "name": "错号", "id_number": "110105194912310021"},  # checksum
        {"row": 6, "name": "表格", "id_number": "5.10116E+17"},  # Excel's damage
        {"row": 7, "name": tested.name, "id_number": tested.id_number},  # already a member
        {
            "row": 8,
            "name": "随便",
            "id_number": s["people"][2].id_number,
        },  # the ID alone must not reveal a name
        {"row": 9, "name": "", "id_number": s["people"][3].id_number},
    ]
    report = do_add_group_members(actor=cast["community_staff_a"], group=group, rows=rows)
    assert report["counts"] == {"added": 3, "already": 1, "refused": 4}
    refused = {i["row"]: i["field"] for i in report["items"] if i["status"] == "refused"}
    assert refused == {5: "id_number", 6: "id_number", 8: "name", 9: "name"}
    do_apply_registrations(actor=None, items=[open_item(s, "GROUP00001"), sample_item(tested, "GROUP00001")])
    by_person = {r.member.person_id: r for r in member_rows(group)}
    assert by_person[tested.pk].tested and not by_person[tested.pk].overdue
    assert by_person[tested.pk].last_sampled is not None
    assert by_person[untested.pk].overdue and by_person[untested.pk].last_sampled is None
    # a sample older than the frequency makes a member overdue again
    later = timezone.now() + dt.timedelta(days=4)
    assert {r.member.person_id for r in member_rows(group, now=later) if r.overdue} == set(by_person)
    data = do_export_group(actor=None, group=group, rows=member_rows(group))
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert len(sheet) == 4 and tested.id_number not in str(sheet)  # masked


def test_spot_check_due_and_overdue(cast: Any, setup: dict[str, Any]) -> None:  # noqa: F811
    """Drawn this period and untested: due, not overdue; drawn last period and never tested: overdue."""
    s = setup
    group = do_save_group(
        actor=None, name="商超抽检", industry="supermarket", frequency_days=7, spot_check_percent=50
    )
    people = s["people"][:8]
    rows = [{"row": n, "name": p.name, "id_number": p.id_number} for n, p in enumerate(people)]
    do_add_group_members(actor=None, group=group, rows=rows)
    now = timezone.now()
    period, _first, _last = period_of(group, timezone.localtime(now).date())
    ids = [p.pk for p in people]
    this, before = drawn(group, ids, period), drawn(group, ids, period - 1)
    by_person = {r.member.person_id: r for r in member_rows(group, now=now)}
    assert {p for p, r in by_person.items() if r.due} == this and len(this) == 4
    assert {p for p, r in by_person.items() if r.overdue} == before  # nobody has been tested
    assert not any(r.tested for r in by_person.values())
    # those drawn now are sampled: tested; the overdue from last period who test now catch up
    for pid in this | before:
        person = next(p for p in people if p.pk == pid)
        code = f"SPOT{pid:06d}"
        do_apply_registrations(actor=None, items=[open_item(s, code, capacity=1), sample_item(person, code)])
    by_person = {r.member.person_id: r for r in member_rows(group, now=timezone.now())}
    assert all(by_person[p].tested for p in this) and not any(r.overdue for r in by_person.values())


def test_groups_list_queries_do_not_grow_with_groups(cast: Any, client: Any, setup: dict[str, Any]) -> None:  # noqa: F811
    from jiedao.core.testing import count_queries

    s = setup
    client.force_login(cast["command"])

    def add(first: int, n: int) -> None:
        for k in range(first, first + n):
            g = do_save_group(actor=None, name=f"组{k}", industry="other", frequency_days=3)
            p = s["people"][k % len(s["people"])]
            do_add_group_members(
                actor=None, group=g, rows=[{"row": 1, "name": p.name, "id_number": p.id_number}]
            )

    add(0, 1)
    before = count_queries(lambda: client.get("/nat/groups/"))
    add(1, 6)
    assert count_queries(lambda: client.get("/nat/groups/")) == before


def test_spot_check_draw_is_a_reproducible_share(cast: Any) -> None:
    group = do_save_group(
        actor=None, name="药店店员", industry="pharmacy", frequency_days=7, spot_check_percent=30
    )
    people = list(range(1, 101))
    first = drawn(group, people, 10)
    assert len(first) == 30 and drawn(group, people, 10) == first
    assert drawn(group, people, 11) != first  # a different share each period
    group.spot_check_percent = 100
    assert drawn(group, people, 10) == set(people)


def test_member_file_errors() -> None:
    with pytest.raises(InvalidInput) as exc:
        member_rows_from_file("m.csv", "姓名,电话\n张三,13800000000\n".encode())
    assert "身份证号" in exc.value.message
    rows = member_rows_from_file("m.csv", "姓名,身份证号,单位\n张三,11010519491231002X,美团\n".encode())
    assert rows == [{"row": 2, "name": "张三", "id_number": "11010519491231002X", "employer": "美团"}]


# ---- pages --------------------------------------------------------------------------------------------


def test_round_pages_show_levels_exemptions_and_reconciliation(
    cast: Any, client: Any, tubes: dict[str, Any]
) -> None:
    s = tubes
    rnd = s["round"]
    client.force_login(cast["grid_worker_a"])
    html = client.get(f"/nat/rounds/{rnd.pk}/?level=compound").content.decode()
    assert 'data-testid="level-compound"' in html and "测试花园" in html
    live = client.get(f"/nat/rounds/{rnd.pk}/?part=coverage&level=building").content.decode()
    assert 'id="jd-round-live"' in live and "<html" not in live
    hh = make_household(cast.community_a, cast.grid_a1, members=1)
    person = hh.residents.get().person
    resp = client.post(
        f"/nat/rounds/{rnd.pk}/exempt", {"person": person.pk, "reason": "home_sampling", "note": "卧床"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert resp.status_code == 200 and 'data-testid="exempted"' in resp.content.decode()
    missing = client.get(f"/nat/rounds/{rnd.pk}/missing/").content.decode()
    assert person.name not in missing
    resp = client.post(
        f"/nat/rounds/{rnd.pk}/exempt", {"person": person.pk, "reason": ""}, HTTP_HX_REQUEST="true"
    )
    assert 'data-testid="exempt-error"' in resp.content.decode()
    exemptions = client.get(f"/nat/rounds/{rnd.pk}/exemptions/").content.decode()
    assert person.name in exemptions
    client.force_login(cast["command"])
    rec = client.get(f"/nat/rounds/{rnd.pk}/reconcile/").content.decode()
    assert rec.count('data-testid="gap-row"') == 3  # three sealed tubes, none received
    export = client.get(f"/nat/rounds/{rnd.pk}/reconcile/?gap=not_received&export=1")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_report_time_alone_is_the_test_time(cast: Any, tubes: dict[str, Any]) -> None:
    data = f"条码,结果,报告时间\nPLAN000001,阴性,{_text(2)}\nPLAN000002,阴性,不是时间\n".encode()
    report = do_record_results(actor=None, rows=rows_from_file("r.csv", data), lab="检测中心")
    assert report.counts["recorded"] == 1
    refused = [(i["barcode"], i["field"]) for i in report.items if i["status"] == "refused"]
    assert refused == [("PLAN000002", "reported_at")]
    tube = Tube.objects.get(barcode="PLAN000001")
    assert tube.result_at == tube.reported_at


def test_home_sampling_item_follows_the_exemption(cast: Any, setup: dict[str, Any]) -> None:  # noqa: F811
    s = setup
    rnd, person = s["round"], s["people"][0]
    ex = do_exempt_person(actor=None, rnd=rnd, person=person, reason="home_sampling")
    first = ex.work_item
    ex = do_exempt_person(actor=None, rnd=rnd, person=person, reason="away")  # no longer bedridden
    first.refresh_from_db()
    assert first.status == "cancelled" and ex.work_item is None
    ex = do_exempt_person(actor=None, rnd=rnd, person=person, reason="home_sampling")
    assert ex.work_item is not None and ex.work_item.pk != first.pk and ex.work_item.is_open
    do_lift_exemption(actor=None, exemption=ex)
    again = do_exempt_person(actor=None, rnd=rnd, person=person, reason="home_sampling")
    assert again.work_item is not None and again.work_item.is_open  # a new task, not the cancelled one
    items = [open_item(s, "HOME000009", capacity=1), sample_item(person, "HOME000009")]
    assert [a["status"] for a in do_apply_registrations(actor=None, items=items).items] == ["created"] * 2
    again.work_item.refresh_from_db()
    assert again.work_item.status == "done" and "HOME000009" in again.work_item.outcome
    with pytest.raises(InvalidInput):
        do_exempt_person(actor=None, rnd=rnd, person=s["people"][1], reason="other", note="a\x00b")


def test_missing_items_follow_the_missing(cast: Any, setup: dict[str, Any]) -> None:  # noqa: F811
    from jiedao.work.actions import do_complete_work_item

    s = setup
    rnd = s["round"]
    hh = make_household(cast.community_a, None, members=1)
    hh.residents.update(grid=None)  # a resident without a grid: the community office's list
    do_issue_missing_work_items(actor=None, rnd=rnd)
    items = WorkItem.objects.filter(kind="nat.missing")
    office = items.get(grid=None)
    assert office.role == "community_staff" and office.subject_url.endswith(
        f"?community={cast.community_a.pk}"
    )
    a1 = items.get(grid=cast.grid_a1)
    do_complete_work_item(actor=None, item=a1, outcome="找过了")
    do_issue_missing_work_items(actor=None, rnd=rnd)
    assert items.filter(grid=cast.grid_a1, status="open").count() == 1  # still missing: a new item
    # everyone in A1 sampled: its open item is done at the next issue
    everyone = [open_item(s, "ALL0000001", capacity=20), *(sample_item(p, "ALL0000001") for p in s["people"])]
    do_apply_registrations(actor=None, items=everyone)
    counts = do_issue_missing_work_items(actor=None, rnd=rnd)
    assert counts["done"] == 1 and not items.filter(grid=cast.grid_a1, status="open").exists()


def test_a_negative_pool_closes_resample_items(cast: Any, tubes: dict[str, Any]) -> None:
    s = tubes
    do_record_results(
        actor=None, rows=[{"row": 1, "barcode": "PLAN000001", "result": "无效"}], lab="检测中心"
    )
    resample = WorkItem.objects.filter(kind="nat.resample")
    assert resample.filter(status="open").count() == 4
    now = timezone.now().isoformat()
    items = [{**open_item(s, "AGAIN00001"), "at": now},
             *({**sample_item(p, "AGAIN00001", repeat_reason="无效重采"), "at": now} for p in s["people"][:4]),
             {**close_item("AGAIN00001"), "at": now}]  # fmt: skip
    assert {a["status"] for a in do_apply_registrations(actor=None, items=items).items} == {"created"}
    later = (timezone.localtime() + dt.timedelta(minutes=1)).isoformat()
    do_record_results(
        actor=None,
        rows=[{"row": 1, "barcode": "AGAIN00001", "result": "阴性", "tested_at": later}],
        lab="检测中心",
    )
    assert resample.filter(status="done").count() == 4


@pytest.mark.parametrize("query", ["?compound=²", "?grid=99999999999999999999", "?q=%00", "?building=-1"])
def test_bad_query_values_are_ignored_not_a_500(
    cast: Any,
    client: Any,
    setup: dict[str, Any],  # noqa: F811
    query: str,
) -> None:
    client.force_login(cast["command"])
    assert client.get(f"/nat/rounds/{setup['round'].pk}/missing/{query}").status_code == 200


def test_bad_community_on_the_group_form(cast: Any, client: Any) -> None:
    client.force_login(cast["command"])
    resp = client.post("/nat/groups/new", {"name": "x", "industry": "other", "frequency_days": "3",
                                           "spot_check_percent": "100", "community": "²"})  # fmt: skip
    assert resp.status_code == 200 and "community" in resp.context["form"].errors


def test_a_result_time_with_an_offset_is_that_instant(cast: Any, tubes: dict[str, Any]) -> None:
    when = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=2)
    row = {
        "row": 1,
        "barcode": "PLAN000001",
        "result": "阴性",
        "tested_at": when.astimezone(dt.UTC).isoformat(),
    }
    report = do_record_results(actor=None, rows=[row], lab="检测中心")
    assert report.counts["recorded"] == 1, report.items
    assert Tube.objects.get(barcode="PLAN000001").result_at == when


@pytest.mark.parametrize(
    ("expected", "tested", "exempt", "percent"),
    [(0, 0, 0, 0.0), (4, 0, 4, 100.0), (4, 1, 2, 50.0), (10, 3, 0, 30.0), (3, 3, 1, 100.0)],
)
def test_coverage_percent_of_an_empty_area_is_zero_and_of_an_all_exempt_area_full(
    expected: int, tested: int, exempt: int, percent: float
) -> None:
    row = coverage.CoverageRow("x", "c", None, None, expected=expected, tested=tested, exempt=exempt)
    assert row.percent == percent
