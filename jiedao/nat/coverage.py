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
from jiedao.nat.models import Exemption, Sample, TestingRound, Tube
from jiedao.org.models import Community, Grid
from jiedao.registry.models import Building, Compound, Resident


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


def _sampled(rnd: TestingRound) -> Exists:
    return Exists(Sample.objects.filter(round=rnd, person_id=OuterRef("person_id")))


def _exempted(rnd: TestingRound) -> Exists:
    return Exists(Exemption.objects.filter(round=rnd, person_id=OuterRef("person_id")))


def _counted(qs: QuerySet[Resident], columns: tuple[str, ...]) -> dict[tuple[Any, ...], int]:
    rows = qs.values(*columns).annotate(n=Count("pk")).order_by()
    return {tuple(r[c] for c in columns): r["n"] for r in rows}


# The levels coverage is counted at: the grouping columns on Resident.
LEVELS = {
    "community": ("community_id",),
    "grid": ("community_id", "grid_id"),
    "compound": ("community_id", "household__flat__compound_id"),
    "building": ("community_id", "household__flat__compound_id", "household__flat__entrance__building_id"),
}


@dataclass
class CoverageRow:
    label: str
    community: str
    community_id: int | None
    key: int | None  # the grid, compound or building (the community at that level)
    expected: int
    tested: int
    exempt: int = 0  # exempt and not sampled (a bedridden person sampled at home counts as tested)

    @property
    def missing(self) -> int:
        return self.expected - self.tested - self.exempt

    @property
    def percent(self) -> float:
        """Share of those due (residents minus the exempt) who were sampled; 0 % for an area with no
        residents, 100 % where everyone is exempt."""
        due = self.expected - self.exempt
        if due > 0:
            return round(100 * min(self.tested, due) / due, 1)
        return 100.0 if self.expected else 0.0


def _scoped(rnd: TestingRound, scope: Scope) -> QuerySet[Resident]:
    qs = residents_in_scope(rnd)
    if not scope.everything:
        qs = qs.filter(Q(community_id__in=scope.community_ids) | Q(grid_id__in=scope.grid_ids))
    return qs


def _labels(level: str, keys: set[int]) -> dict[int, str]:
    if level == "grid":
        return dict(Grid.objects.filter(pk__in=keys).values_list("pk", "name"))
    if level == "compound":
        return dict(Compound.objects.filter(pk__in=keys).values_list("pk", "name"))
    if level == "building":
        return {
            b["pk"]: f"{b['compound__name']} {b['number']}"
            for b in Building.objects.filter(pk__in=keys).values("pk", "number", "compound__name")
        }
    return {}


def coverage(rnd: TestingRound, scope: Scope, level: str = "grid") -> tuple[list[CoverageRow], CoverageRow]:
    """One row per community, grid, compound or building in the caller's area, and the total: one
    grouped query (plus the names)."""
    columns = LEVELS.get(level, LEVELS["grid"])
    scoped = _scoped(rnd, scope)
    # three grouped counts, each a plain filter (a semi- or anti-join on PostgreSQL), rather than two
    # subqueries asked for every resident inside one count: 450,000 lookups at subdistrict scale
    expected = _counted(scoped, columns)
    tested = _counted(scoped.filter(_sampled(rnd)), columns)
    exempt = _counted(scoped.filter(_exempted(rnd)).filter(~_sampled(rnd)), columns)
    grouped = [
        {**dict(zip(columns, key, strict=True)), "expected": n, "tested_n": tested.get(key, 0),
         "exempt_n": exempt.get(key, 0)}
        for key, n in sorted(expected.items(), key=lambda kv: [(v is None, v or 0) for v in kv[0]])
    ]  # fmt: skip
    communities = dict(Community.objects.values_list("pk", "name"))
    key_column = columns[-1]
    names = _labels(level, {g[key_column] for g in grouped if g[key_column] is not None})
    rows = []
    for g in grouped:
        community = communities.get(g["community_id"], "—")
        key = g[key_column]
        label = community if level == "community" else names.get(key, "—") if key is not None else "—"
        rows.append(
            CoverageRow(label, community, g["community_id"], key, g["expected"], g["tested_n"], g["exempt_n"])
        )
    total = CoverageRow(
        "",
        "",
        None,
        None,
        sum(r.expected for r in rows),
        sum(r.tested for r in rows),
        sum(r.exempt for r in rows),
    )
    return rows, total


def by_community(rows: list[CoverageRow]) -> list[CoverageRow]:
    """Rows of any level added up by community (every level's rows carry their community), in the
    order the communities first appear: the same numbers as `coverage(..., "community")`."""
    summed: dict[int | None, CoverageRow] = {}
    for r in rows:
        into = summed.setdefault(
            r.community_id, CoverageRow(r.community, r.community, r.community_id, r.community_id, 0, 0, 0)
        )
        into.expected += r.expected
        into.tested += r.tested
        into.exempt += r.exempt
    return list(summed.values())


def missing(rnd: TestingRound, scope: Scope) -> QuerySet[Resident]:
    """Residents in scope neither sampled in the round nor exempt: what grid workers go and find."""
    return (
        _scoped(rnd, scope)
        .filter(~_sampled(rnd))
        .filter(~_exempted(rnd))
        .select_related("person", "household", "community", "grid")
        .defer("community__geometry", "grid__geometry")
        .order_by("community_id", "grid_id", "household__address", "pk")
    )


def exempt(rnd: TestingRound, scope: Scope) -> QuerySet[Exemption]:
    """The round's exemptions in the caller's area."""
    qs = Exemption.objects.filter(round=rnd)
    if not scope.everything:
        qs = qs.filter(
            Q(person__community_id__in=scope.community_ids) | Q(person__grid_id__in=scope.grid_ids)
        )
    return qs.select_related("person", "work_item").order_by("person__community_id", "person__grid_id", "pk")


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


# ---- reconciliation: sent = received = tested = reported -----------------------------------------------

RECONCILE_STEPS = ("sent", "received", "tested", "reported")


def _chain() -> dict[str, Any]:
    return {
        "sent": Count("pk"),
        "received": Count("pk", filter=~Q(received_at=None) | ~Q(result="")),
        "tested": Count("pk", filter=~Q(result="")),
        "reported": Count("pk", filter=Q(result__in=(TubeResult.NEGATIVE, TubeResult.POSITIVE))),
        "invalid": Count("pk", filter=Q(result=TubeResult.INVALID)),
    }


def reconciliation(rnd: TestingRound) -> dict[str, Any]:
    """Sealed tubes (sent to the lab), received by the lab, tested (any result), reported (a valid
    result; an invalid one means sampling again), for the round and per site: the gaps are the tubes
    to chase."""
    sealed = Tube.objects.filter(round=rnd, status=TubeStatus.CLOSED)
    total = sealed.aggregate(**_chain())
    per_site = list(sealed.values("site_id", "site__name").annotate(**_chain()).order_by("site__name"))
    for row in [*per_site, total]:
        row["gaps"] = {
            "not_received": row["sent"] - row["received"],
            "not_tested": row["received"] - row["tested"],
            "invalid": row["invalid"],
        }
        row["balanced"] = row["sent"] == row["reported"]
    return {"total": total, "sites": per_site}


def unreconciled_tubes(rnd: TestingRound, gap: str) -> QuerySet[Tube]:
    """The tubes in one gap, oldest first: sealed but not received, received but not tested, or
    tested invalid."""
    sealed = Tube.objects.filter(round=rnd, status=TubeStatus.CLOSED).select_related("site")
    if gap == "not_received":
        qs = sealed.filter(received_at=None, result="")
    elif gap == "not_tested":
        qs = sealed.filter(result="").exclude(received_at=None)
    else:
        qs = sealed.filter(result=TubeResult.INVALID)
    return qs.order_by("closed_at", "pk")
