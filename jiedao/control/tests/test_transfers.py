"""Closed-loop transfer (闭环转运) to quarantine sites: the actions (capacity, order of the steps, a step
twice, the site's confirmation starting the case) and the pages (sites, the case card, the transfer page
the escort uses, the board of open transfers and its ledger), with their scoping."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from jiedao.control import actions
from jiedao.control.choices import CaseStatus, SiteStatus, TransferStatus
from jiedao.control.models import CaseChange, ControlCase, QuarantineSite, Transfer
from jiedao.control.tests.access import case_a1
from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.core.models import AuditEntry
from jiedao.core.testing import assert_no_per_row_queries

pytestmark = pytest.mark.django_db


def make_site(name: str = "锦江宾馆", capacity: int = 10, status: str = SiteStatus.OPEN) -> QuarantineSite:
    return actions.do_save_site(
        actor=None,
        name=name,
        address="锦江区红星路 1 号",
        capacity=capacity,
        phone="028-80000000",
        status=status,
    )


def plan(case: Any, site: QuarantineSite, actor: Any = None, **kw: Any) -> Transfer:
    fields: dict[str, Any] = {
        "team": "张伟、李娜（民警）", "vehicle": "川a·12345",
        "pickup_at": timezone.now() + dt.timedelta(hours=1),
    }  # fmt: skip
    fields.update(kw)
    return actions.do_plan_transfer(actor=actor, case=case, site=site, **fields)


def occupancy(site: QuarantineSite) -> tuple[int, int]:
    s = actions.with_occupancy(QuarantineSite.objects.filter(pk=site.pk)).get()
    return s.occupied, s.incoming  # type: ignore[attr-defined]


def arrive(transfer: Transfer, actor: Any = None) -> Transfer:
    for step in ("picked_up", "handed_over", "confirmed"):
        transfer = actions.do_transfer_step(actor=actor, transfer=transfer, step=step, received_by="王医生")
    return transfer


def case_b1(cast: Any) -> ControlCase:
    """A pending centralised quarantine in community B (grid B1)."""
    from jiedao.control.tests.test_cases import classified

    return actions.do_open_case(actor=None, key_person=classified(cast, community=cast.community_b))


# ---- actions -----------------------------------------------------------------------------------------


def test_planning_books_a_place_and_a_full_or_closed_site_is_refused(cast: Any) -> None:
    site = make_site(capacity=1)
    first = plan(case_a1(cast), site, actor=cast["community_staff_a"])
    assert first.status == TransferStatus.PLANNED and first.vehicle == "川A·12345"
    assert (first.community_id, first.grid_id) == (cast.community_a.pk, cast.grid_a1.pk)
    assert occupancy(site) == (0, 1)
    second = case_a1(cast)
    with pytest.raises(Conflict, match=r"1 / 1|1 of 1"):
        plan(second, site)
    closed = make_site("已关闭酒店", capacity=50, status=SiteStatus.CLOSED)
    with pytest.raises(Conflict, match="已关闭酒店"):
        plan(second, closed)
    assert Transfer.objects.filter(case=second).count() == 0
    assert AuditEntry.objects.filter(action="control.plan_transfer", object_id=str(first.pk)).exists()


def test_one_open_transfer_per_case_and_only_for_a_pending_central_quarantine(cast: Any) -> None:
    site = make_site()
    case = case_a1(cast)
    t = plan(case, site)
    with pytest.raises(Conflict):
        plan(case, site)
    assert Transfer.objects.filter(case=case).count() == 1
    actions.do_cancel_transfer(actor=cast["community_staff_a"], transfer=t, reason="车辆故障")
    assert plan(case, site).status == TransferStatus.PLANNED  # cancelled: a new one may be planned
    home = actions.do_change_measure(
        actor=None, case=case_a1(cast), category="secondary_contact", basis="复核"
    )
    assert home.measure_type == "HOME_QUARANTINE"
    with pytest.raises(Conflict):
        plan(home, site)
    assert not Transfer.objects.filter(case=home).exists()


def test_bad_input_is_refused_on_its_field_and_writes_nothing(cast: Any) -> None:
    site, case = make_site(), case_a1(cast)
    for kw, field in (
        ({"team": "  "}, "team"),
        ({"vehicle": ""}, "vehicle"),
        ({"vehicle": "X" * 31}, "vehicle"),
        ({"pickup_at": None}, "pickup_at"),
    ):
        with pytest.raises(InvalidInput) as exc:
            plan(case, site, **kw)
        assert exc.value.field == field
    assert not Transfer.objects.exists()
    with pytest.raises(Forbidden):
        plan(case, site, actor=cast["grid_worker_a"])  # the office plans, not the grid
    with pytest.raises(Forbidden):
        plan(case, site, actor=cast["community_staff_b"])  # not their community


def test_steps_go_in_order_and_a_step_twice_changes_nothing(cast: Any) -> None:
    t = plan(case_a1(cast), make_site())
    with pytest.raises(Conflict):
        actions.do_transfer_step(actor=cast["police_a"], transfer=t, step="confirmed")
    with pytest.raises(InvalidInput):
        actions.do_transfer_step(actor=cast["police_a"], transfer=t, step="teleported")
    t = actions.do_transfer_step(actor=cast["police_a"], transfer=t, step="picked_up")
    picked = t.picked_up_at
    assert t.status == TransferStatus.PICKED_UP and picked is not None
    with pytest.raises(Conflict, match=r"\d\d-\d\d \d\d:\d\d"):  # says when it was recorded
        actions.do_transfer_step(actor=cast["grid_worker_a"], transfer=t, step="picked_up")
    t.refresh_from_db()
    assert t.picked_up_at == picked and t.status == TransferStatus.PICKED_UP
    with pytest.raises(InvalidInput) as exc:
        actions.do_transfer_step(actor=cast["police_a"], transfer=t, step="handed_over", received_by=" ")
    assert exc.value.field == "received_by"
    with pytest.raises(Forbidden):
        actions.do_transfer_step(actor=cast["doctor_a"], transfer=t, step="handed_over", received_by="王")
    with pytest.raises(Forbidden):
        actions.do_transfer_step(actor=cast["police_b"], transfer=t, step="handed_over", received_by="王")
    t.refresh_from_db()
    assert t.status == TransferStatus.PICKED_UP and t.handed_over_at is None
    assert AuditEntry.objects.filter(action="control.transfer_picked_up").count() == 1


def test_the_sites_confirmation_starts_the_case_there_with_the_transfer_as_basis(cast: Any) -> None:
    site = make_site(capacity=3)
    case = case_a1(cast)
    t = plan(case, site)
    t = actions.do_transfer_step(actor=cast["police_a"], transfer=t, step="picked_up")
    t = actions.do_transfer_step(
        actor=cast["police_a"], transfer=t, step="handed_over", received_by="前台陈芳"
    )
    assert occupancy(site) == (0, 1)
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING and case.site is None  # not until the site confirms
    t = actions.do_transfer_step(actor=cast["grid_worker_a"], transfer=t, step="confirmed")
    assert t.status == TransferStatus.CONFIRMED and t.received_by == "前台陈芳"
    assert t.pickup_at and t.picked_up_at and t.handed_over_at and t.confirmed_at
    case.refresh_from_db()
    assert case.status == CaseStatus.ACTIVE and case.site_id == site.pk
    change = CaseChange.objects.filter(case=case).last()
    assert change is not None and change.to_status == CaseStatus.ACTIVE
    assert f"#{t.pk}" in change.basis and site.name in change.basis and "前台陈芳" in change.basis
    assert occupancy(site) == (1, 0)
    assert not actions.is_late(t)
    with pytest.raises(Conflict):
        actions.do_transfer_step(actor=cast["police_a"], transfer=t, step="confirmed")


def test_cancel_needs_a_reason_frees_the_place_and_ends_the_loop(cast: Any) -> None:
    site = make_site(capacity=1)
    t = plan(case_a1(cast), site)
    with pytest.raises(InvalidInput):
        actions.do_cancel_transfer(actor=cast["command"], transfer=t, reason=" ")
    with pytest.raises(Forbidden):
        actions.do_cancel_transfer(actor=cast["police_a"], transfer=t, reason="x")
    t = actions.do_cancel_transfer(actor=cast["command"], transfer=t, reason="已送医")
    assert t.status == TransferStatus.CANCELLED and t.cancelled_at and t.note == "已送医"
    assert occupancy(site) == (0, 0)
    with pytest.raises(Conflict):
        actions.do_cancel_transfer(actor=cast["command"], transfer=t, reason="again")
    with pytest.raises(Conflict):
        actions.do_transfer_step(actor=cast["command"], transfer=t, step="picked_up")
    plan(case_a1(cast), site)  # the place is free again


def test_a_sites_capacity_cannot_drop_below_the_people_it_holds_and_expects(cast: Any) -> None:
    site = make_site(capacity=5)
    arrive(plan(case_a1(cast), site))
    plan(case_a1(cast), site)
    assert occupancy(site) == (1, 1)
    with pytest.raises(InvalidInput, match="2") as exc:
        actions.do_save_site(
            actor=cast["command"], site=site, name=site.name, address=site.address, capacity=1
        )
    assert exc.value.field == "capacity"
    site.refresh_from_db()
    assert site.capacity == 5
    site = actions.do_save_site(
        actor=cast["command"], site=site, name=site.name, address=site.address, capacity=2
    )
    assert site.capacity == 2
    for bad in ("abc", 0, ""):
        with pytest.raises(InvalidInput):
            actions.do_save_site(actor=cast["command"], name="新点", address="某路", capacity=bad)
    with pytest.raises(Forbidden):
        actions.do_save_site(actor=cast["community_staff_a"], name="新点", address="某路", capacity=3)
    with pytest.raises(InvalidInput) as same_name:
        actions.do_save_site(actor=cast["command"], name=site.name, address="某路", capacity=3)
    assert same_name.value.field == "name"


def test_a_step_not_taken_in_time_is_late(cast: Any) -> None:
    now = timezone.now()
    t = plan(case_a1(cast), make_site(), pickup_at=now - dt.timedelta(minutes=90))
    assert actions.is_late(t, now)
    assert not actions.is_late(t, now - dt.timedelta(minutes=40))
    t = actions.do_transfer_step(actor=None, transfer=t, step="picked_up")
    assert not actions.is_late(t) and actions.is_late(t, timezone.now() + dt.timedelta(hours=3))


# ---- pages -------------------------------------------------------------------------------------------


def test_sites_list_shows_capacity_and_occupancy_without_a_query_per_row(
    login: Any, cast: Any, django_assert_max_num_queries: Any
) -> None:
    client = login("doctor_b")  # sites are subdistrict-wide: any reader sees them
    page = client.get(reverse("control:sites")).content.decode()
    assert 'data-testid="empty"' in page and 'data-testid="site-add"' not in page
    full = make_site("满员酒店", capacity=1)
    plan(case_a1(cast), full)
    roomy = make_site("宽敞酒店", capacity=4)
    arrive(plan(case_a1(cast), roomy))
    page = client.get(reverse("control:sites")).content.decode()
    assert page.count('data-testid="site-row"') == 2
    assert page.count('data-testid="site-row" data-full="1"') == 1  # the full one, red
    assert 'data-testid="occupied">1</td>' in page
    assert 'data-testid="free">3</td>' in page
    closed = client.get(reverse("control:sites"), {"status": "closed"}).content.decode()
    assert 'data-testid="empty"' in closed
    with django_assert_max_num_queries(8):
        client.get(reverse("control:sites"))
    n = iter(range(100))

    def add(k: int) -> None:
        for _ in range(k):
            make_site(f"酒店{next(n)}", capacity=3)

    assert_no_per_row_queries(lambda: client.get(reverse("control:sites")), add)
    assert login("volunteer_a").get(reverse("control:sites")).status_code == 403


def test_command_adds_and_edits_a_site_and_bad_input_is_shown(login: Any, cast: Any, english: Any) -> None:
    client = login("command")
    assert 'data-testid="site-add"' in client.get(reverse("control:sites")).content.decode()
    r = client.post(
        reverse("control:site_add"),
        {"name": "锦江宾馆", "address": "红星路 1 号", "capacity": "abc", "status": "open"},
    )
    assert r.status_code == 422 and "number of rooms" in r.content.decode()
    assert not QuarantineSite.objects.exists()
    r = client.post(
        reverse("control:site_add"),
        {"name": "锦江宾馆", "address": "红星路 1 号", "capacity": "2", "status": "open"},
    )
    assert r.status_code == 302
    site = QuarantineSite.objects.get()
    plan(case_a1(cast), site)
    plan(case_a1(cast), site)
    url = reverse("control:site_edit", args=[site.pk])
    assert 'data-testid="site-held"' in client.get(url).content.decode()
    r = client.post(url, {"name": "锦江宾馆", "address": "红星路 1 号", "capacity": "1", "status": "open"})
    assert r.status_code == 422 and "expects 2 people" in r.content.decode()
    site.refresh_from_db()
    assert site.capacity == 2
    r = client.post(url, {"name": "锦江宾馆", "address": "红星路 1 号", "capacity": "30", "status": "closed"})
    assert r.status_code == 302
    site.refresh_from_db()
    assert (site.capacity, site.status) == (30, "closed")
    assert login("community_staff_a").get(reverse("control:site_add")).status_code == 403


def test_the_office_plans_a_transfer_from_the_case_page(login: Any, cast: Any, english: Any) -> None:
    case = case_a1(cast)
    client = login("grid_worker_a")
    assert (
        'data-testid="plan-transfer-form"'
        not in client.get(reverse("control:case", args=[case.pk])).content.decode()
    )
    client = login("community_staff_a")
    page = client.get(reverse("control:case", args=[case.pk])).content.decode()
    assert 'data-testid="no-site"' in page  # no site yet
    site = make_site(capacity=3)
    make_site("关闭的酒店", status=SiteStatus.CLOSED)
    page = client.get(reverse("control:case", args=[case.pk])).content.decode()
    assert 'data-testid="plan-transfer-form"' in page and "3 free" in page and "关闭的酒店" not in page
    url = reverse("control:plan_transfer", args=[case.pk])
    pickup = timezone.localtime() + dt.timedelta(hours=1)
    data = {"site": site.pk, "team": "张伟", "vehicle": "", "pickup_at": f"{pickup:%Y-%m-%dT%H:%M}"}
    r = client.post(url, data)
    assert r.status_code == 422 and "plate number" in r.content.decode() and not Transfer.objects.exists()
    r = client.post(url, {**data, "pickup_at": "tomorrow-ish"})
    assert r.status_code == 422 and 'data-testid="error-pickup_at"' in r.content.decode()
    r = client.post(url, {**data, "vehicle": "川A12345"})
    assert r.status_code == 302 and r["Location"] == reverse("control:case", args=[case.pk])
    t = Transfer.objects.get()
    assert t.vehicle == "川A12345" and timezone.localtime(t.pickup_at).strftime("%H:%M") == f"{pickup:%H:%M}"
    page = client.get(r["Location"]).content.decode()
    assert 'data-testid="current-transfer"' in page and 'data-testid="plan-transfer-form"' not in page
    assert reverse("control:transfer", args=[t.pk]) in page
    assert "2 free" in client.get(reverse("control:case", args=[case_a1(cast).pk])).content.decode()
    assert login("community_staff_b").post(url, {**data, "vehicle": "川A1"}).status_code == 404


def test_the_escort_records_each_step_once_on_the_transfer_page(login: Any, cast: Any, english: Any) -> None:
    case = case_a1(cast)
    t = plan(case, make_site())
    client = login("police_a")
    url = reverse("control:transfer", args=[t.pk])
    page = client.get(url).content.decode()
    person = case.person
    assert person.name in page and person.id_masked in page and person.id_number not in page
    assert case.household.address in page and "川A·12345" in page
    assert page.count('data-testid="next-step"') == 1 and 'value="picked_up"' in page
    assert 'data-testid="cancel-transfer"' not in page  # the police liaison does not cancel
    step = reverse("control:transfer_step", args=[t.pk])
    assert client.post(step, {"step": "picked_up"}).status_code == 302
    t.refresh_from_db()
    picked = t.picked_up_at
    r = client.post(step, {"step": "picked_up"}, follow=True)  # pressed twice
    assert "recorded already" in r.content.decode()
    t.refresh_from_db()
    assert t.picked_up_at == picked and t.status == "picked_up"
    page = client.get(url).content.decode()
    assert 'data-testid="received-by"' in page and 'value="handed_over"' in page
    r = client.post(step, {"step": "handed_over"}, follow=True)
    assert "Name the site" in r.content.decode()
    client.post(step, {"step": "handed_over", "received_by": "陈芳"})
    r = client.post(step, {"step": "confirmed"}, follow=True)
    assert (
        'data-testid="loop-closed"' in r.content.decode()
        and 'data-testid="next-step"' not in r.content.decode()
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.ACTIVE and case.site_id == t.site_id
    page = login("doctor_a").get(url).content.decode()  # reads, records nothing
    assert "陈芳" in page and 'data-testid="next-step"' not in page
    case_page = client.get(reverse("control:case", args=[case.pk])).content.decode()
    assert 'data-testid="case-site"' in case_page and t.site.name in case_page


def test_the_office_cancels_a_transfer_with_a_reason(login: Any, cast: Any, english: Any) -> None:
    t = plan(case_a1(cast), make_site())
    client = login("community_staff_a")
    assert (
        'data-testid="cancel-transfer"'
        in client.get(reverse("control:transfer", args=[t.pk])).content.decode()
    )
    url = reverse("control:transfer_cancel", args=[t.pk])
    r = client.post(url, {"reason": ""}, follow=True)
    assert "Say why" in r.content.decode()
    t.refresh_from_db()
    assert t.status == "planned"
    r = client.post(url, {"reason": "已送医院"}, follow=True)
    assert 'data-testid="transfer-cancelled"' in r.content.decode()
    t.refresh_from_db()
    assert t.status == "cancelled"


def test_transfer_pages_are_scoped(login: Any, cast: Any) -> None:
    t = plan(case_a1(cast), make_site())
    url = reverse("control:transfer", args=[t.pk])
    step = reverse("control:transfer_step", args=[t.pk])
    for key in ("community_staff_b", "police_b", "grid_worker_a2"):
        assert login(key).get(url).status_code == 404
        assert login(key).post(step, {"step": "picked_up"}).status_code == 404
    assert login("volunteer_a").get(url).status_code == 403
    assert login("doctor_a").post(step, {"step": "picked_up"}).status_code == 403
    assert login("grid_worker_a").get(url).status_code == 200
    t.refresh_from_db()
    assert t.status == "planned"
    board = login("grid_worker_a2").get(reverse("control:transfers")).content.decode()
    assert 'data-testid="transfer-row"' not in board


def test_the_board_shows_open_transfers_longest_waiting_first_and_counts_the_late(
    login: Any, cast: Any, english: Any, django_assert_max_num_queries: Any
) -> None:
    now = timezone.now()
    site, other = make_site(), make_site("第二酒店")
    late = plan(case_a1(cast), site, pickup_at=now - dt.timedelta(hours=2))
    on_time = plan(case_a1(cast), other, pickup_at=now + dt.timedelta(minutes=30))
    on_road = actions.do_transfer_step(
        actor=None,
        transfer=plan(case_a1(cast), site, pickup_at=now - dt.timedelta(minutes=20)),
        step="picked_up",
    )
    done = arrive(plan(case_a1(cast), site))
    in_b = plan(case_b1(cast), site)
    client = login("community_staff_a")
    page = client.get(reverse("control:transfers")).content.decode()
    names = [t.case.person.name for t in (late, on_road, on_time)]
    positions = [page.index(n) for n in names]
    assert positions == sorted(positions)  # longest since the last step first
    assert done.case.person.name not in page and in_b.case.person.name not in page
    assert page.count('data-testid="transfer-row"') == 3 and page.count('data-late="1"') == 1
    assert ">1 late<" in page and 'hx-trigger="every 30s"' in page
    only_late = client.get(reverse("control:transfers"), {"late": "1"}).content.decode()
    assert only_late.count('data-testid="transfer-row"') == 1 and late.case.person.name in only_late
    by_site = client.get(reverse("control:transfers"), {"site": other.pk}).content.decode()
    assert by_site.count('data-testid="transfer-row"') == 1 and "None late" in by_site
    by_step = client.get(reverse("control:transfers"), {"status": "picked_up"}).content.decode()
    assert by_step.count('data-testid="transfer-row"') == 1 and on_road.case.person.name in by_step
    assert (
        login("command")
        .get(reverse("control:transfers"))
        .content.decode()
        .count('data-testid="transfer-row"')
        == 4
    )
    # The polled partial: only the table, with the same filters.
    part = client.get(
        reverse("control:transfers"), {"late": "1"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" not in part and "late=1" in part and part.count('data-testid="transfer-row"') == 1
    empty = client.get(reverse("control:transfers"), {"site": 999999}).content.decode()
    assert 'data-testid="empty"' in empty
    with django_assert_max_num_queries(12):
        client.get(reverse("control:transfers"))

    def add(k: int) -> None:
        for _ in range(k // 4):
            plan(case_a1(cast), site, pickup_at=now - dt.timedelta(hours=3))

    assert_no_per_row_queries(lambda: client.get(reverse("control:transfers")), add)
    assert login("volunteer_a").get(reverse("control:transfers")).status_code == 403


def test_the_transfer_ledger_exports_every_timestamp_masked_and_on_record(login: Any, cast: Any) -> None:
    from jiedao.core.sheets import read_table

    site = make_site()
    done = arrive(plan(case_a1(cast), site))
    open_one = plan(case_a1(cast), site)
    plan(case_b1(cast), site)
    client = login("community_staff_a")
    r = client.get(reverse("control:transfers_export"))
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    rows = read_table("transfers.xlsx", r.content)
    assert len(rows) == 3  # header + both of community A (open and confirmed), none of B
    by_no = {int(row[0]): row for row in rows[1:]}
    assert set(by_no) == {done.pk, open_one.pk}
    person = done.case.person
    assert by_no[done.pk][1] == person.name and by_no[done.pk][2] == person.id_masked
    assert person.id_number not in str(rows)
    assert all(by_no[done.pk][i] not in ("", None) for i in (12, 13, 14, 16))  # every step's time
    assert by_no[done.pk][15] == "王医生"
    entry = AuditEntry.objects.get(action="control.export_transfers")
    assert entry.changes["rows"] == 2 and entry.actor_id == cast["community_staff_a"].pk
    r = client.get(reverse("control:transfers_export"), {"status": "confirmed"})
    assert len(read_table("transfers.xlsx", r.content)) == 2
    last = AuditEntry.objects.filter(action="control.export_transfers").order_by("-id").first()
    assert last is not None and last.changes == {"filters": {"status": "confirmed"}, "rows": 1}
