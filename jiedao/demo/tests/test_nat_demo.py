"""The demo's testing story (issue 5): 134 sampling sites, a finished round with one positive pool
followed up through the real action, and a round under way. The module builds the demo twice with the
same seed (the first build rolled back), so it can compare them; the second serves every test."""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, F
from django.test import override_settings
from django.utils import timezone

from jiedao.core.scoping import Scope
from jiedao.demo import geo
from jiedao.demo.build import build_demo
from jiedao.demo.nat import SITES, summary_lines
from jiedao.demo.tests.conftest import TEST_SCALE, TEST_SEED
from jiedao.nat.choices import RoundStatus, SiteStatus, TubeResult, TubeStatus
from jiedao.nat.coverage import by_hour, coverage, tube_counts
from jiedao.nat.models import ResultBatch, Sample, SamplingSite, Tube
from jiedao.nat.models import TestingRound as Round
from jiedao.org.models import User
from jiedao.screening.choices import Source
from jiedao.screening.models import KeyPerson, PushedEntry
from jiedao.work.choices import Priority
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db
EVERYTHING = Scope(everything=True)


def _snapshot(summary: dict[str, Any]) -> dict[str, Any]:
    """What a build made of testing, in a form two builds can be compared by (no primary keys)."""
    return {
        "sites": list(
            SamplingSite.objects.order_by("name").values_list(
                "name", "address", "lat", "lng", "hours", "lanes", "status", "queue_length", "grid__code"
            )
        ),
        "tubes": list(
            Tube.objects.order_by("barcode").values_list(
                "barcode", "site__name", "capacity", "members", "status", "result", "lab"
            )
        ),
        "counts": {k: v for k, v in summary["counts"].items() if k.startswith("nat_")},
    }


@pytest.fixture(scope="module")
def built(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    var = override_settings(VAR_DIR=tmp_path_factory.mktemp("nat-demo-var"))
    var.enable()
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            savepoint = transaction.savepoint()
            first = _snapshot(build_demo(scale=TEST_SCALE, seed=TEST_SEED))
            transaction.savepoint_rollback(savepoint)
            summary = build_demo(scale=TEST_SCALE, seed=TEST_SEED)
            second = _snapshot(summary)
        except BaseException:
            atomic.__exit__(*sys.exc_info())
            var.disable()
            raise
    try:
        yield {"summary": summary, "first": first, "second": second}
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
        var.disable()


def _rounds() -> tuple[Round, Round]:
    finished = Round.objects.get(status=RoundStatus.CLOSED)
    running = Round.objects.get(status=RoundStatus.OPEN)
    return finished, running


def test_the_same_seed_gives_the_same_sites_tubes_and_counts(built: dict[str, Any]) -> None:
    first, second = built["first"], built["second"]
    assert len(first["sites"]) == SITES and len(first["tubes"]) > 500
    assert first["sites"] == second["sites"]
    assert first["tubes"] == second["tubes"]
    assert first["counts"] == second["counts"]


def test_exactly_134_sites_spread_over_every_community(built: dict[str, Any]) -> None:
    sites = list(SamplingSite.objects.select_related("community", "grid"))
    assert len(sites) == SITES == built["summary"]["counts"]["nat_sites"]
    per_community = Counter(s.community.name for s in sites if s.community is not None)
    assert len(per_community) == 10 and min(per_community.values()) >= 1
    # in proportion to residents: the community of Nanhu Shangjing (over 3,000 of 5,000) has the most
    assert per_community.most_common(1)[0][0] == "滨江社区"
    for s in sites:
        assert s.name.startswith("华阳街道第") and "采样点（" in s.name and s.name.endswith("）")
        assert s.grid is not None and s.grid.community_id == s.community_id
        assert 2 <= s.lanes <= 6 and s.hours and s.address.startswith("四川省成都市天府新区华阳街道")
    statuses = Counter(s.status for s in sites)
    assert (
        statuses[SiteStatus.OPEN] > 100
        and statuses[SiteStatus.PAUSED] > 0
        and statuses[SiteStatus.CLOSED] > 0
    )
    assert all(s.queue_length == 0 for s in sites if s.status == SiteStatus.CLOSED)
    assert any(s.queue_length > 0 for s in sites if s.status == SiteStatus.OPEN)
    assert any("南湖尚景东门" in s.name for s in sites)


def test_every_site_lies_inside_its_grid_and_community(built: dict[str, Any]) -> None:
    for s in SamplingSite.objects.select_related("community", "grid"):
        assert s.lat is not None and s.lng is not None and s.grid is not None and s.community is not None
        assert s.grid.geometry and geo.contains(s.grid.geometry, s.lng, s.lat), s.name
        assert s.community.geometry and geo.contains(s.community.geometry, s.lng, s.lat), s.name


def test_the_demo_sampler_staffs_the_open_sites_of_the_demo_grid(built: dict[str, Any]) -> None:
    sampler = User.objects.get(username="sampler_binjiang")
    mine = list(SamplingSite.objects.filter(staff=sampler))
    assert mine and all(s.status == SiteStatus.OPEN for s in mine)
    in_grid = SamplingSite.objects.filter(grid_id__in=sampler.scope.grid_ids)
    assert sampler.scope.grid_ids and set(in_grid) == set(mine)
    assert len(mine) == built["summary"]["counts"]["nat_sampler_sites"]
    _finished, running = _rounds()
    assert set(running.sites.values_list("pk", flat=True)) >= {s.pk for s in mine}
    # the sampler's page starts clean: no tube left open at the sampler's sites
    assert not Tube.objects.filter(site__in=mine, status=TubeStatus.OPEN).exists()


def test_the_finished_round_covers_nearly_everyone(built: dict[str, Any]) -> None:
    finished, _running = _rounds()
    assert finished.name == "第11轮全员核酸检测" and not finished.communities.exists()
    assert finished.ends_at - finished.starts_at == dt.timedelta(hours=24)
    assert (timezone.localdate() - timezone.localdate(finished.starts_at)).days == 3
    rows, total = coverage(finished, EVERYTHING)
    assert total.expected > 0 and 95.0 <= total.percent < 100.0
    assert all(r.percent >= 75.0 for r in rows)  # no grid left behind (small grids vary most)
    counts = built["summary"]["counts"]
    assert counts["nat_round1_covered"] == total.tested and counts["nat_round1_expected"] == total.expected
    tubes = Tube.objects.filter(round=finished)
    assert not tubes.filter(status=TubeStatus.OPEN).exists() and not tubes.filter(result="").exists()
    assert tubes.filter(capacity=10).count() > 10 * tubes.filter(capacity=1).count() > 0  # a few singles
    assert not tubes.filter(result_at__lt=F("closed_at") + dt.timedelta(hours=4)).exists()
    assert not tubes.filter(result_at__gt=F("closed_at") + dt.timedelta(hours=12)).exists()
    assert not tubes.filter(received_at__lte=F("closed_at")).exists()
    assert not tubes.filter(received_at__gte=F("result_at")).exists()
    assert not tubes.filter(reported_at__lte=F("result_at")).exists()
    assert not tubes.filter(closed_at__lt=F("opened_at")).exists()
    # samples by hour look like a day: the busiest hour is in the morning
    hours = by_hour(finished)
    busiest = hours["hours"][hours["samples"].index(max(hours["samples"]))]
    assert 7 <= int(busiest[-5:-3]) <= 10
    samples = Sample.objects.filter(round=finished)
    assert not samples.filter(sampled_at__lt=finished.starts_at).exists()
    assert not samples.filter(sampled_at__gt=finished.ends_at).exists()


def test_one_result_batch_per_laboratory(built: dict[str, Any]) -> None:
    finished, _running = _rounds()
    batches = list(ResultBatch.objects.filter(tubes__round=finished).distinct())
    assert len(batches) == 3
    for batch in batches:
        tubes = Tube.objects.filter(result_batch=batch)
        assert batch.rows == tubes.count() == batch.counts["recorded"] == len(batch.report)
        assert {i["barcode"] for i in batch.report} == set(tubes.values_list("barcode", flat=True))
        assert set(tubes.values_list("lab", flat=True)) == {batch.lab}


def test_exactly_one_positive_pool_followed_up_with_the_tube_as_basis(built: dict[str, Any]) -> None:
    tube = Tube.objects.select_related("pushed_list", "round").get(result=TubeResult.POSITIVE)
    assert tube.round.status == RoundStatus.CLOSED and tube.capacity == 10 and tube.members == 10
    assert tube.positive_handled_at is not None and tube.pushed_list is not None
    plist = tube.pushed_list
    assert plist.source == Source.POSITIVE_POOL and plist.committed
    assert plist.basis_url == f"/nat/tubes/{tube.barcode}/" and tube.barcode in plist.basis_label
    members = set(Sample.objects.filter(tube=tube).values_list("person_id", flat=True))
    entries = PushedEntry.objects.filter(pushed_list=plist)
    assert entries.count() == len(members) == built["summary"]["counts"]["nat_positive_pushed"]
    assert (
        set(KeyPerson.objects.filter(entries__pushed_list=plist).values_list("person_id", flat=True))
        == members
    )
    alert = WorkItem.objects.get(kind="nat.positive_pool")
    assert alert.role == "command" and alert.priority == Priority.URGENT and alert.subject_id == str(tube.pk)
    # one single-tube re-test per member, for the member's grid
    retests = WorkItem.objects.filter(kind="nat.retest")
    assert set(retests.values_list("subject_id", flat=True)) == {str(p) for p in members}
    assert all(i.priority == Priority.URGENT and i.role == "grid_worker" for i in retests)
    # outside the demo grid: the Nanhu grid worker's day stays as the other stages made it
    worker = User.objects.get(username="grid_binjiang_1")
    assert not retests.filter(grid_id__in=worker.scope.grid_ids).exists()


def test_the_round_under_way(built: dict[str, Any]) -> None:
    _finished, running = _rounds()
    now = timezone.now()
    assert running.starts_at < now < running.ends_at
    _rows, total = coverage(running, EVERYTHING)
    assert 40.0 <= total.percent <= 70.0
    counts = tube_counts(running)
    assert counts["open"] > 0 and counts["awaiting"] > counts["reported"] > 0
    assert counts["positive"] == 0
    tubes = Tube.objects.filter(round=running)
    # tubes still open at sites: not sealed, not full, at open sites; the others sealed before now
    for t in tubes.filter(status=TubeStatus.OPEN).select_related("site"):
        assert t.closed_at is None and t.members < t.capacity and t.site.status == SiteStatus.OPEN
    assert not tubes.filter(status=TubeStatus.CLOSED, closed_at__gt=now).exists()
    assert not tubes.exclude(result="").filter(reported_at__gt=now).exists()
    # sealed tubes on their way, at the laboratory, and reported: the chain reconciles
    sealed = tubes.filter(status=TubeStatus.CLOSED)
    assert sealed.filter(received_at__isnull=True).exists()
    assert sealed.filter(received_at__isnull=False, result="").exists()
    assert not tubes.exclude(result="").filter(received_at__isnull=True).exists()
    assert not tubes.filter(received_at__gt=now).exists()
    assert not Sample.objects.filter(round=running, sampled_at__gt=now).exists()
    assert not tubes.filter(site__status=SiteStatus.CLOSED).exists()
    c = built["summary"]["counts"]
    assert (c["nat_round2_open"], c["nat_round2_awaiting"], c["nat_round2_reported"]) == (
        counts["open"],
        counts["awaiting"],
        counts["reported"],
    )


def test_tube_members_equal_their_samples_and_no_tube_is_over_capacity(built: dict[str, Any]) -> None:
    tubes = Tube.objects.annotate(n=Count("samples"))
    assert tubes.exists()
    assert not tubes.exclude(n=F("members")).exists()
    assert not tubes.filter(members__gt=F("capacity")).exists()
    assert not tubes.filter(members=0).exists()
    # nobody twice in a round
    twice = Sample.objects.values("round", "person").annotate(n=Count("pk")).filter(n__gt=1)
    assert not twice.exists()


def test_summary_lines_and_the_audit_entry(built: dict[str, Any]) -> None:
    from jiedao.core.models import AuditEntry

    counts = built["summary"]["counts"]
    lines = summary_lines(counts)
    assert len(lines) == 2 and lines[0].startswith(f"Testing: {SITES} sampling sites")
    assert f"{counts['nat_round1_covered']:,} of" in lines[0] and "1 positive pool" in lines[0]
    entry = AuditEntry.objects.get(action="demo.build_nat")
    assert entry.changes["nat_sites"] == SITES and entry.actor_id is None
    assert summary_lines({}) == []


def test_the_round_under_way_is_planned_around_its_people(built: dict[str, Any]) -> None:
    from jiedao.demo.nat import GROUPS
    from jiedao.nat.groups import member_rows
    from jiedao.nat.models import Exemption, KeyIndustryGroup, RoundAssignment
    from jiedao.work.models import WorkItem

    rnd = Round.objects.get(status=RoundStatus.OPEN)
    assert (
        RoundAssignment.objects.filter(round=rnd).count()
        == built["summary"]["counts"]["nat_assigned_compounds"]
        > 0
    )
    exemptions = Exemption.objects.filter(round=rnd)
    assert exemptions.count() == built["summary"]["counts"]["nat_exemptions"] > 0
    home = exemptions.filter(reason="home_sampling")
    assert home.exists() and all(e.work_item is not None and e.work_item.is_open for e in home)
    assert WorkItem.objects.filter(kind="nat.home_sampling").count() == home.count()
    # the exempt are counted as exempt, not missing
    total = coverage(rnd, Scope(everything=True))[1]
    assert total.exempt == exemptions.exclude(person__samples__round=rnd).count()
    groups = list(KeyIndustryGroup.objects.order_by("name"))
    assert (
        len(groups) == len(GROUPS)
        and sum(g.members.count() for g in groups) == built["summary"]["counts"]["nat_group_members"]
    )
    riders = next(g for g in groups if g.industry == "delivery")
    assert all(r.due for r in member_rows(riders)) and any(r.last_sampled for r in member_rows(riders))
    builders = next(g for g in groups if g.industry == "construction")
    rows = member_rows(builders)
    assert sum(r.due for r in rows) == -(-len(rows) * builders.spot_check_percent // 100)  # the drawn share
