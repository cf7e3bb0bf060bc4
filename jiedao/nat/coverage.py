"""Reads for a round: coverage of the residents in its scope (应检尽检: expected, tested, missing) by
community and grid, the round's numbers over time and per site, and pooling advice from the observed
positivity (Dorfman)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from jiedao.core.scoping import Scope
from jiedao.nat.choices import CAPACITIES, TubeResult, TubeStatus
from jiedao.nat.models import Sample, TestingRound, Tube
from jiedao.org.models import Community, Grid
from jiedao.registry.models import Resident


def residents_in_scope(rnd: TestingRound) -> QuerySet[Resident]:
    """Who must be tested: current residents of the round's communities or compounds (none = all)."""
    qs = Resident.objects.filter(moved_out__isnull=True)
    community_ids = list(rnd.communities.values_list("pk", flat=True))
    compound_ids = list(rnd.compounds.values_list("pk", flat=True))
    if compound_ids:
        qs = qs.filter(household__flat__compound_id__in=compound_ids)
    elif community_ids:
        qs = qs.filter(community_id__in=community_ids)
    return qs


def with_tested(rnd: TestingRound, qs: QuerySet[Resident]) -> QuerySet[Resident]:
    return qs.annotate(tested=Exists(Sample.objects.filter(round=rnd, person_id=OuterRef("person_id"))))


@dataclass
class CoverageRow:
    community: str
    grid: str
    community_id: int | None
    grid_id: int | None
    expected: int
    tested: int

    @property
    def missing(self) -> int:
        return self.expected - self.tested

    @property
    def percent(self) -> float:
        return round(100 * self.tested / self.expected, 1) if self.expected else 0.0


def coverage(rnd: TestingRound, scope: Scope) -> tuple[list[CoverageRow], CoverageRow]:
    """One row per (community, grid) in the caller's area, and the total: a single grouped query."""
    qs = residents_in_scope(rnd)
    if not scope.everything:
        qs = qs.filter(Q(community_id__in=scope.community_ids) | Q(grid_id__in=scope.grid_ids))
    grouped = (
        with_tested(rnd, qs)
        .values("community_id", "grid_id")
        .annotate(expected=Count("pk"), tested_n=Count("pk", filter=Q(tested=True)))
        .order_by("community_id", "grid_id")
    )
    communities = dict(Community.objects.values_list("pk", "name"))
    grids = dict(Grid.objects.values_list("pk", "name"))
    rows = [
        CoverageRow(
            communities.get(g["community_id"], "—"),
            grids.get(g["grid_id"], "—"),
            g["community_id"],
            g["grid_id"],
            g["expected"],
            g["tested_n"],
        )
        for g in grouped
    ]
    total = CoverageRow("", "", None, None, sum(r.expected for r in rows), sum(r.tested for r in rows))
    return rows, total


def missing(rnd: TestingRound, scope: Scope) -> QuerySet[Resident]:
    """Residents in scope not sampled in the round: what grid workers go and find."""
    qs = residents_in_scope(rnd)
    if not scope.everything:
        qs = qs.filter(Q(community_id__in=scope.community_ids) | Q(grid_id__in=scope.grid_ids))
    return (
        qs.filter(~Exists(Sample.objects.filter(round=rnd, person_id=OuterRef("person_id"))))
        .select_related("person", "household", "community", "grid")
        .defer("community__geometry", "grid__geometry")
        .order_by("community_id", "grid_id", "household__address", "pk")
    )


def by_hour(rnd: TestingRound) -> dict[str, list[Any]]:
    rows = (
        Sample.objects.filter(round=rnd)
        .annotate(hour=TruncHour("sampled_at"))
        .values("hour")
        .annotate(n=Count("pk"))
        .order_by("hour")
    )
    return {
        "hours": [timezone.localtime(r["hour"]).strftime("%m-%d %H:00") for r in rows],
        "samples": [r["n"] for r in rows],
    }


def by_site(rnd: TestingRound) -> list[dict[str, Any]]:
    return list(
        Sample.objects.filter(round=rnd)
        .values("tube__site__name")
        .annotate(n=Count("pk"))
        .order_by("-n")[:30]
    )


def tube_counts(rnd: TestingRound) -> dict[str, Any]:
    tubes = Tube.objects.filter(round=rnd)
    agg = tubes.aggregate(
        all=Count("pk"),
        open=Count("pk", filter=Q(status=TubeStatus.OPEN)),
        sealed=Count("pk", filter=Q(status=TubeStatus.CLOSED)),
        reported=Count("pk", filter=~Q(result="")),
        positive=Count("pk", filter=Q(result=TubeResult.POSITIVE)),
    )
    agg["awaiting"] = agg["sealed"] - agg["reported"]
    waits = [
        (r - c).total_seconds() / 3600
        for c, r in tubes.exclude(result="")
        .exclude(closed_at=None)
        .values_list("closed_at", "result_at")[:20000]
        if r and c
    ]
    agg["median_hours_to_result"] = round(statistics.median(waits), 1) if waits else None
    return agg


@dataclass
class PoolingAdvice:
    prevalence: float | None  # estimated share of infected people
    tests_per_person: dict[int, float]
    best: int | None


def dorfman(p: float, k: int) -> float:
    """Expected tests per person with pools of k and a single re-test of each positive pool's members."""
    return 1.0 if k == 1 else 1 / k + 1 - (1 - p) ** k


def pooling_advice(rnd: TestingRound) -> PoolingAdvice:
    """Prevalence from the reported pools (a pool of k is positive with 1 − (1 − p)^k), then the
    expected tests per person for each pool size and the cheapest."""
    rows = list(
        Tube.objects.filter(round=rnd).exclude(result="").exclude(result=TubeResult.INVALID)
        .values("members", "result")
    )  # fmt: skip
    if not rows:
        return PoolingAdvice(None, {}, None)
    people = sum(r["members"] for r in rows)
    mean_k = people / len(rows) if rows else 1
    positive_share = sum(1 for r in rows if r["result"] == TubeResult.POSITIVE) / len(rows)
    p = 1 - (1 - positive_share) ** (1 / max(mean_k, 1)) if positive_share < 1 else 1.0
    table = {k: round(dorfman(p, k), 4) for k in CAPACITIES}
    best = min(table, key=lambda k: (table[k], k)) if not math.isnan(p) else None
    return PoolingAdvice(round(p, 6), table, best)
