"""The testing part of the Huayang demo (issue 5): 134 sampling sites, one finished mass-testing round
with one positive pool, and one round under way, so the site map, the round pages, the missing lists
and the sampler's phone page all have something real to show.

- Sites: exactly SITES at every scale (REQUIREMENTS B1), shared out over the communities in proportion
  to their residents and within a community over its grids, each at a compound gate or a public spot
  inside its grid cell; mostly open, a few paused or closed, with queues. The demo sampler
  (sampler_binjiang) staffs the sites of the demo grid, which are open.
- Round one (第11轮全员核酸检测), the whole subdistrict, from 07:00 three days ago for 24 hours: about 97 %
  of the current residents sampled, families together, in 10-in-1 tubes sealed when full or 40 minutes
  old; the bedridden and people under home control in single tubes at home. Samples by hour peak in the
  morning. Tubes reach one of three laboratories (by community) within 2 hours, are tested 4 to 12
  hours after sealing and reported minutes later, one results batch per laboratory; all negative but
  one 10-in-1 tube outside the demo grid, whose follow-up runs through the real action
  (`do_follow_up_positive_tube`: members pushed to screening, urgent work items) at build time — so
  its pushed list and work items are dated now, not when the result came in.
- Round two (第12轮), the whole subdistrict, started six hours before the build: about 55 % sampled so
  far, most in the first hours; the last tube of most open sites is still open (none at the demo
  sampler's sites, so the phone page starts clean), the rest are sealed: in transit, at the laboratory,
  or (the earliest) reported negative.
- People in centralised quarantine are tested at their quarantine site, not here: they are among the
  missing. Registration log rows are not written: no phone holds the demo's keys, so nothing would
  replay them.
- Bulk writes straight to the models (the builder's rule); one audit entry (`demo.build_nat`).
  Deterministic for a seed: every draw is made relative to the round's start, not the clock, so two
  builds give the same sites, tubes and counts whatever the time of day."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from jiedao.control.choices import OPEN_STATUSES as OPEN_CASES
from jiedao.control.models import ControlCase
from jiedao.core import audit
from jiedao.core.scoping import Scope
from jiedao.demo import data
from jiedao.demo.state import BuildState
from jiedao.demo.venues import GridUnit
from jiedao.nat.choices import RoundKind, RoundStatus, SiteStatus, TubeResult, TubeStatus
from jiedao.nat.coverage import coverage
from jiedao.nat.models import ResultBatch, Sample, SamplingSite, TestingRound, Tube
from jiedao.nat.results import do_follow_up_positive_tube
from jiedao.org.choices import Role
from jiedao.org.models import User
from jiedao.protocols.choices import MeasureType
from jiedao.registry.choices import CareTagKind
from jiedao.registry.models import CareTag, Resident
from jiedao.screening.models import KeyPerson

SITES = 134  # REQUIREMENTS B1: the subdistrict's sampling sites, at every scale
PAUSED, CLOSED = 9, 5
FIRST_ROUND = 11  # the demo's rounds are the 11th and 12th of the year's mass testing
POOL = 10
POOL_SPAN = dt.timedelta(minutes=40)  # a tube not full after this long is sealed anyway
ROUND_ONE_SHARE = 0.97
ROUND_TWO_SHARE = 0.55
ROUND_TWO_AGE = dt.timedelta(hours=6)
TOGETHER = 0.75  # share of households that queue together (and so share tubes)
RESULT_HOURS = (4.0, 12.0)  # from sealing to the laboratory's result
LABS = ("成都金域医学检验所", "天府新区人民医院检验科", "四川迪安医学检验所")
# Round one opens at 07:00: people queue before work, fewer at noon, again after work, few at night.
DAY_PROFILE = (
    9,
    13,
    12,
    10,
    8,
    5,
    4,
    5,
    5,
    5,
    6,
    7,
    6,
    4,
    3,
    1.5,
    0.6,
    0.3,
    0.2,
    0.2,
    0.2,
    0.2,
    0.2,
    0.3,
)
# Round two's first six hours (it opened in the morning): most come early; the last hour is still
# arriving, so the open tubes are at their start.
MORNING_PROFILE = (10, 13, 10, 7, 5, 4)
HOURS = (
    "07:00—21:00",
    "07:00—22:00",
    "07:30—12:00，13:30—20:00",
    "08:00—20:00",
    "00:00—24:00（24小时）",
    "07:00—12:00，14:00—19:00",
)
GATES = ("东门", "西门", "南门", "北门", "正门", "1号门", "2号门", "东南门")
SPOTS = ("党群服务中心", "社区广场", "口袋公园", "农贸市场门口", "社区卫生服务站", "文化活动中心")


@dataclass
class _Site:
    row: SamplingSite
    unit: GridUnit
    number: int


@dataclass
class _Tube:
    site: _Site
    capacity: int
    opened_at: dt.datetime
    samples: list[tuple[int, dt.datetime]] = field(default_factory=list)  # (person id, when)
    closed_at: dt.datetime | None = None
    result: str = ""
    result_at: dt.datetime | None = None
    lab: str = ""
    received_at: dt.datetime | None = None
    reported_at: dt.datetime | None = None
    row: Tube | None = None


def _largest_remainder(total: int, weights: list[float], floor: int = 0) -> list[int]:
    """`total` shared in proportion to `weights`, each at least `floor`."""
    rest = total - floor * len(weights)
    whole = sum(weights) or 1.0
    exact = [rest * w / whole for w in weights]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[: rest - sum(shares)]:
        shares[i] += 1
    return [s + floor for s in shares]


class _Builder:
    def __init__(self, state: BuildState) -> None:
        assert state.demo_grid is not None
        self.state = state
        self.rng = state.rng("nat")
        self.now = timezone.now().replace(microsecond=0)
        self.today = timezone.localdate(self.now)
        self.demo_grid_id = state.demo_grid.grid.pk
        self.sites: list[_Site] = []
        self.by_grid: dict[int, list[_Site]] = defaultdict(list)
        self.by_community: dict[int, list[_Site]] = defaultdict(list)
        self.command = User.objects.get(username="command")
        # current residents, once per person, by household
        self.households: dict[int, list[tuple[int, int, int]]] = defaultdict(
            list
        )  # pk → (person, grid, community)
        seen: set[int] = set()
        for person, household, grid, community in (
            Resident.objects.filter(moved_out__isnull=True)
            .order_by("pk")
            .values_list("person_id", "household_id", "grid_id", "community_id")
        ):
            if person not in seen:
                seen.add(person)
                self.households[household].append((person, grid, community))
        cases = ControlCase.objects.filter(status__in=OPEN_CASES).values_list("person_id", "measure_type")
        # at a quarantine site: tested there; under control at home: sampled at the door, one tube each
        self.away = {p for p, m in cases if m == MeasureType.CENTRAL_QUARANTINE}
        self.at_home = {p for p, m in cases if m != MeasureType.CENTRAL_QUARANTINE}
        self.bedridden = set(
            CareTag.objects.filter(kind=CareTagKind.BEDRIDDEN).values_list("person_id", flat=True)
        )
        self.at_home |= self.bedridden

    # ---- sites -----------------------------------------------------------------------------------

    def build_sites(self) -> None:
        residents: dict[int, int] = defaultdict(int)
        for members in self.households.values():
            for _person, grid, _community in members:
                residents[grid] += 1
        units = self.state.units
        communities = list(dict.fromkeys(u.community.pk for u in units))
        per_community = _largest_remainder(
            SITES, [sum(residents[u.grid.pk] for u in units if u.community.pk == c) for c in communities], 1
        )
        plan: list[GridUnit] = []
        for community, n in zip(communities, per_community, strict=True):
            grids = [u for u in units if u.community.pk == community]
            shares = _largest_remainder(n, [residents[u.grid.pk] for u in grids])
            demo = next((k for k, u in enumerate(grids) if u.grid.pk == self.demo_grid_id), None)
            if demo is not None and shares[demo] == 0:  # the demo sampler needs a site in the demo grid
                shares[max(range(len(shares)), key=lambda k: shares[k])] -= 1
                shares[demo] = 1
            for unit, k in zip(grids, shares, strict=True):
                # the demo grid's own sites first, so the first of them is at Nanhu Shangjing's gate
                plan.extend([unit] * k)
        compounds: dict[int, list[Any]] = defaultdict(list)
        for ref in self.state.compounds:
            compounds[ref.unit.grid.pk].append(ref)
        for refs in compounds.values():
            refs.sort(key=lambda r: (r.name != data.NANHU_NAME, r.pk))
        used: set[int] = set()
        closed_paused = self._off_sites(plan)
        rows: list[SamplingSite] = []
        for number, unit in enumerate(plan, start=1):
            name, address, lng, lat = self._place(unit, compounds[unit.grid.pk], used, number)
            status = closed_paused.get(number, SiteStatus.OPEN)
            lanes = self.rng.randint(2, 6)
            queue = self.rng.randint(0, 12 * lanes) if status == SiteStatus.OPEN else 0
            if status == SiteStatus.PAUSED and self.rng.random() < 0.5:
                queue = self.rng.randint(3, 20)  # paused for a break with people still waiting
            rows.append(
                SamplingSite(
                    name=name,
                    address=address,
                    community=unit.community,
                    grid=unit.grid,
                    lat=round(lat, 6),
                    lng=round(lng, 6),
                    lanes=lanes,
                    hours=self.rng.choice(HOURS) if status != SiteStatus.CLOSED else "已停用",
                    status=status,
                    queue_length=queue,
                    queue_updated_at=self.now - dt.timedelta(minutes=self.rng.randint(1, 25)),
                    created_by=self.command,
                    updated_by=self.command,
                )
            )
        SamplingSite.objects.bulk_create(rows)
        for number, (row, unit) in enumerate(zip(rows, plan, strict=True), start=1):
            site = _Site(row, unit, number)
            self.sites.append(site)
            self.by_grid[unit.grid.pk].append(site)
            self.by_community[unit.community.pk].append(site)
        sampler = User.objects.get(username=f"{Role.SAMPLER.value}_{data.DEMO_COMMUNITY}")
        mine = [s.row for s in self.by_grid[self.demo_grid_id]]
        SamplingSite.staff.through.objects.bulk_create(
            [SamplingSite.staff.through(samplingsite_id=s.pk, user_id=sampler.pk) for s in mine]
        )
        self.sampler_sites = {s.pk for s in mine}

    def _off_sites(self, plan: list[GridUnit]) -> dict[int, str]:
        """Site numbers that are paused or closed: never one in the demo grid."""
        others = [n for n, u in enumerate(plan, start=1) if u.grid.pk != self.demo_grid_id]
        picked = self.rng.sample(others, PAUSED + CLOSED)
        return {n: SiteStatus.PAUSED if k < PAUSED else SiteStatus.CLOSED for k, n in enumerate(picked)}

    def _place(
        self, unit: GridUnit, refs: list[Any], used: set[int], number: int
    ) -> tuple[str, str, float, float]:
        """(name, address, lng, lat): at a compound's gate (the compound's own point, inside the grid),
        or at a public spot of the community inside the grid cell."""
        free = [r for r in refs if r.pk not in used]
        nanhu = bool(free) and free[0].name == data.NANHU_NAME  # sorted first: the demo grid's first site
        if free and (nanhu or self.rng.random() < 0.75):
            ref = free[0] if nanhu else self.rng.choice(free)
            used.add(ref.pk)
            gate = "东门" if nanhu else self.rng.choice(GATES)
            return (
                f"{data.SUBDISTRICT_NAME}第{number}采样点（{ref.name}{gate}）",
                # compounds' addresses start at the subdistrict ("华阳街道华阳老街215号"); a site's is in full
                f"{data.ADDRESS_PREFIX}{ref.address.removeprefix(data.SUBDISTRICT_NAME) or ref.name}{gate}",
                ref.lng,
                ref.lat,
            )
        road = self.rng.choice(unit.spec.roads)
        spot = self.rng.choice(SPOTS)
        lng, lat = unit.cell.point(self.rng.uniform(0.12, 0.88), self.rng.uniform(0.12, 0.88))
        return (
            f"{data.SUBDISTRICT_NAME}第{number}采样点（{road}{spot}）",
            f"{data.ADDRESS_PREFIX}{road}{self.rng.randint(1, 300)}号",
            lng,
            lat,
        )

    # ---- rounds ----------------------------------------------------------------------------------

    def _site_for(self, grid: int, community: int, allowed: set[int]) -> _Site:
        here = [s for s in self.by_grid.get(grid, []) if s.number in allowed]
        if not here:
            here = [s for s in self.by_community[community] if s.number in allowed]
        if not here:
            here = [s for s in self.sites if s.number in allowed]
        return self.rng.choices(here, weights=[s.row.lanes for s in here])[0]

    def _moment(self, profile: tuple[float, ...]) -> dt.timedelta:
        hour = self.rng.choices(range(len(profile)), weights=profile)[0]
        return dt.timedelta(hours=hour, seconds=self.rng.randint(0, 3599))

    def sample_round(
        self, start: dt.datetime, profile: tuple[float, ...], share: float, allowed: set[int],
        by_household: bool, single: set[int], home_hours: tuple[float, float], skip: frozenset[int] = frozenset(),
    ) -> tuple[dict[int, list[tuple[int, dt.datetime]]], list[tuple[_Site, int, dt.datetime]]]:  # fmt: skip
        """Who was sampled where and when: pooled samples by site number, and single samples taken at
        home by the site's home-sampling team (every one of `single`, `home_hours` after the start).
        `by_household`: whole households come or not yet (a round under way); else each person comes
        with `share` (a finished round: those missing are away or refused)."""
        latest = start + dt.timedelta(hours=len(profile)) - dt.timedelta(minutes=1)
        pooled: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
        home: list[tuple[_Site, int, dt.datetime]] = []
        for _pk, members in sorted(self.households.items()):
            comes = self.rng.random() < share
            _p, grid, community = members[0]
            site = self._site_for(grid, community, allowed)
            together = start + self._moment(profile)
            for person, _g, _c in members:
                if person in self.away or person in skip:
                    continue
                if person in single:
                    offset = dt.timedelta(hours=self.rng.uniform(*home_hours))
                    home.append((site, person, start + offset))
                    continue
                if not (comes if by_household else self.rng.random() < share):
                    continue
                if self.rng.random() < TOGETHER:
                    at = together + dt.timedelta(seconds=self.rng.randint(0, 240))
                else:
                    at = start + self._moment(profile)
                pooled[site.number].append((person, min(at, latest)))
        return pooled, home

    def tubes(
        self, pooled: dict[int, list[tuple[int, dt.datetime]]], home: list[tuple[_Site, int, dt.datetime]],
        until: dt.datetime | None,
    ) -> list[_Tube]:  # fmt: skip
        """10-in-1 tubes filled in arrival order at each site, sealed when full or 40 minutes old; with
        `until` (a round under way) a site's last tube stays open if it is young and not at the demo
        sampler's sites. Home samples go one to a tube."""
        out: list[_Tube] = []
        for site in self.sites:
            queue = sorted(pooled.get(site.number, []), key=lambda s: (s[1], s[0]))
            current: _Tube | None = None
            for person, at in queue:
                if current is None or len(current.samples) == POOL or at - current.opened_at > POOL_SPAN:
                    current = _Tube(site, POOL, at - dt.timedelta(seconds=self.rng.randint(20, 90)))
                    out.append(current)
                current.samples.append((person, at))
        for site, person, at in sorted(home, key=lambda h: (h[0].number, h[2], h[1])):
            out.append(_Tube(site, 1, at - dt.timedelta(seconds=30), samples=[(person, at)]))
        last: dict[int, _Tube] = {}
        for tube in out:
            if tube.capacity == POOL:
                last[tube.site.number] = tube
        for tube in out:
            sealed = tube.samples[-1][1] + dt.timedelta(seconds=self.rng.randint(40, 240))
            stays_open = (
                until is not None
                and tube.capacity == POOL
                and last.get(tube.site.number) is tube
                and len(tube.samples) < POOL
                and until - tube.opened_at < POOL_SPAN
                and tube.site.row.status == SiteStatus.OPEN
                and tube.site.row.pk not in self.sampler_sites
            )
            if not stays_open:
                tube.closed_at = sealed if until is None else min(sealed, until - dt.timedelta(seconds=30))
        return out

    def results(self, tubes: list[_Tube], until: dt.datetime) -> None:
        """The laboratory's side by `until`: sealed tubes received 30 minutes to 2 hours after sealing,
        tested (negative) 4 to 12 hours after, reported up to 40 minutes later."""
        for tube in tubes:
            if tube.closed_at is None:
                continue
            received = tube.closed_at + dt.timedelta(minutes=self.rng.randint(30, 120))
            tested = (tube.closed_at + dt.timedelta(hours=self.rng.uniform(*RESULT_HOURS))).replace(
                microsecond=0
            )
            reported = tested + dt.timedelta(minutes=self.rng.randint(5, 40))
            # each community's tubes go to one laboratory
            lab = LABS[data.COMMUNITIES.index(tube.site.unit.spec) % len(LABS)]
            if received <= until:
                tube.received_at, tube.lab = received, lab
            if reported <= until:
                tube.result, tube.result_at, tube.reported_at = TubeResult.NEGATIVE, tested, reported

    def write_round(self, name: str, start: dt.datetime, end: dt.datetime, status: str, tubes: list[_Tube],
                    sites: list[_Site], label: str) -> TestingRound:  # fmt: skip
        rnd = TestingRound.objects.create(
            name=name,
            kind=RoundKind.MASS,
            status=status,
            starts_at=start,
            ends_at=end,
            created_by=self.command,
            updated_by=self.command,
        )
        rnd.sites.set([s.row for s in sites])
        batches: dict[str, ResultBatch] = {}
        for lab in sorted({t.lab for t in tubes if t.result}):
            mine = [t for t in tubes if t.lab == lab and t.result]
            positive = sum(1 for t in mine if t.result == TubeResult.POSITIVE)
            batches[lab] = ResultBatch.objects.create(
                lab=lab,
                filename=f"{label}-{LABS.index(lab) + 1}.xlsx",
                client_key=f"demo-{label}-lab{LABS.index(lab) + 1}",
                rows=len(mine),
                counts={"recorded": len(mine), "duplicate": 0, "refused": 0, "positive": positive},
                report=[
                    {"row": n, "barcode": "", "status": "recorded", "result": t.result}
                    for n, t in enumerate(mine, start=2)
                ],
                created_by=self.command,
                updated_by=self.command,
            )
        seq: dict[int, int] = defaultdict(int)
        rows = []
        for tube in tubes:
            seq[tube.site.number] += 1
            code = f"HY{timezone.localtime(start):%y%m%d}{tube.site.number:03d}{seq[tube.site.number]:04d}"
            batch = batches.get(tube.lab) if tube.result else None
            # ids, not objects: the descriptors cost more than the rest, thousands of times over
            tube.row = Tube(
                barcode=code, round_id=rnd.pk, site_id=tube.site.row.pk, capacity=tube.capacity,
                members=len(tube.samples), status=TubeStatus.OPEN if tube.closed_at is None else TubeStatus.CLOSED,
                opened_at=tube.opened_at, closed_at=tube.closed_at, result=tube.result, result_at=tube.result_at,
                received_at=tube.received_at, reported_at=tube.reported_at, lab=tube.lab,
                result_batch_id=batch.pk if batch else None, created_by_id=self.command.pk,
                updated_by_id=self.command.pk,
            )  # fmt: skip
            rows.append(tube.row)
        Tube.objects.bulk_create(rows, batch_size=1000)
        for batch in batches.values():
            # the report names the barcodes, now that they are known; the batch came in with its last result
            mine = [t for t in tubes if t.lab == batch.lab and t.result]
            for item, tube in zip(batch.report, mine, strict=True):
                item["barcode"] = tube.row.barcode if tube.row else ""
            last = max(t.reported_at for t in mine if t.reported_at)
            ResultBatch.objects.filter(pk=batch.pk).update(
                report=batch.report, created_at=last, updated_at=last
            )
        _insert_samples(rnd, tubes, self.command.pk, self.now)
        return rnd

    def positive_tube(self, tubes: list[_Tube]) -> _Tube:
        """A full 10-in-1 tube (the fullest there is, in the smallest builds) outside the demo grid whose
        people are not key persons already, so the follow-up starts a story of its own."""
        known = set(KeyPerson.objects.values_list("person_id", flat=True))
        grid_of = {p: g for members in self.households.values() for p, g, _c in members}
        pooled = [t for t in tubes if t.capacity == POOL]
        candidates = [
            t for t in pooled
            if t.site.unit.grid.pk != self.demo_grid_id
            and not any(p in known or grid_of.get(p) == self.demo_grid_id for p, _at in t.samples)
        ] or pooled  # fmt: skip
        fullest = max(len(t.samples) for t in candidates)
        return self.rng.choice([t for t in candidates if len(t.samples) == fullest])


def _insert_samples(rnd: TestingRound, tubes: list[_Tube], actor_id: int, now: dt.datetime) -> None:
    """The round's samples in one executemany straight into the table: tens of thousands of rows, for
    which the ORM's per-object work (bulk_create) took most of this stage's time. Only `sampled_at`
    varies by row; the other values are adapted once."""
    opts = Sample._meta
    names = ["round", "tube", "person", "sampled_at", "repeat_reason", "created_at", "updated_at",
             "created_by", "updated_by"]  # fmt: skip
    by_name = {f.name: str(f.column) for f in opts.concrete_fields}
    columns = [by_name[n] for n in names]
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    adapt = connection.ops.adapt_datetimefield_value
    stamp = adapt(now)
    rows = [
        (rnd.pk, t.row.pk, person, adapt(at), "", stamp, stamp, actor_id, actor_id)
        for t in tubes
        if t.row is not None
        for person, at in t.samples
    ]
    with connection.cursor() as cursor:
        for k in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[k : k + 5000])


def _pct(tested: int, expected: int) -> str:
    return f"{100 * tested / expected:.1f} %" if expected else "—"


def build_nat(state: BuildState) -> None:
    started = time.perf_counter()
    b = _Builder(state)
    b.build_sites()
    tz = timezone.get_current_timezone()
    everyone = {s.number for s in b.sites}

    # Round one: the whole day three days ago, every site (the closed ones were still open then).
    start1 = dt.datetime.combine(b.today - dt.timedelta(days=3), dt.time(7), tzinfo=tz)
    pooled, home = b.sample_round(
        start1, DAY_PROFILE, ROUND_ONE_SHARE, everyone, False, b.at_home, (7.0, 10.0)
    )
    tubes1 = b.tubes(pooled, home, None)
    b.results(tubes1, b.now)
    positive = b.positive_tube(tubes1)
    positive.result = TubeResult.POSITIVE
    round1 = b.write_round(
        f"第{FIRST_ROUND}轮全员核酸检测",
        start1,
        start1 + dt.timedelta(hours=24),
        RoundStatus.CLOSED,
        tubes1,
        b.sites,
        f"round{FIRST_ROUND}",
    )

    # Round two: under way for six hours at the sites still running.
    start2 = b.now - ROUND_TWO_AGE
    running = [s for s in b.sites if s.row.status != SiteStatus.CLOSED]
    # half the bedridden are still waiting for the home-sampling team (exempted below, with work items)
    waiting = frozenset(sorted(b.bedridden)[::2])
    pooled, home = b.sample_round(
        start2, MORNING_PROFILE, ROUND_TWO_SHARE, {s.number for s in running}, True, b.at_home - waiting,
        (1.0, 4.0), waiting,
    )  # fmt: skip
    tubes2 = b.tubes(pooled, home, b.now)
    b.results(tubes2, b.now - dt.timedelta(minutes=5))
    round2 = b.write_round(
        f"第{FIRST_ROUND + 1}轮全员核酸检测",
        start2,
        start2 + dt.timedelta(hours=24),
        RoundStatus.OPEN,
        tubes2,
        running,
        f"round{FIRST_ROUND + 1}",
    )

    # The positive pool goes through the real follow-up: pushed list, key persons, urgent work items.
    assert positive.row is not None
    tube = do_follow_up_positive_tube(tube_id=positive.row.pk)
    planned = _plan(state, round2)

    everything = Scope(everything=True)
    _rows, total1 = coverage(round1, everything)
    _rows, total2 = coverage(round2, everything)
    statuses = [s.row.status for s in b.sites]
    counts = {
        "nat_sites": len(b.sites),
        "nat_sites_open": statuses.count(SiteStatus.OPEN),
        "nat_sites_paused": statuses.count(SiteStatus.PAUSED),
        "nat_sites_closed": statuses.count(SiteStatus.CLOSED),
        "nat_sampler_sites": len(b.sampler_sites),
        "nat_round1_expected": total1.expected,
        "nat_round1_covered": total1.tested,
        "nat_round1_samples": sum(len(t.samples) for t in tubes1),
        "nat_round1_tubes": len(tubes1),
        "nat_round1_single_tubes": sum(1 for t in tubes1 if t.capacity == 1),
        "nat_round1_positive": 1,
        "nat_positive_pushed": tube.pushed_list.rows if tube.pushed_list else 0,
        "nat_round2_expected": total2.expected,
        "nat_round2_covered": total2.tested,
        "nat_round2_samples": sum(len(t.samples) for t in tubes2),
        "nat_round2_tubes": len(tubes2),
        "nat_round2_open": sum(1 for t in tubes2 if t.closed_at is None),
        "nat_round2_awaiting": sum(1 for t in tubes2 if t.closed_at is not None and not t.result),
        "nat_round2_reported": sum(1 for t in tubes2 if t.result),
        "nat_round2_at_lab": sum(1 for t in tubes2 if t.received_at and not t.result),
        "nat_result_batches": ResultBatch.objects.filter(client_key__startswith="demo-").count(),
        **planned,
    }
    state.counts.update(counts)
    audit.record(actor=None, action="demo.build_nat", obj=round2, changes=counts)
    state.say(
        "nat",
        f"{len(b.sites)} sites; round {FIRST_ROUND}: {counts['nat_round1_samples']:,} samples in "
        f"{len(tubes1):,} tubes, 1 positive; round {FIRST_ROUND + 1}: {_pct(total2.tested, total2.expected)} so far",
        started,
    )


# Key-industry groups (REQUIREMENTS B2): name, industry, test every N days, spot-check share, members.
GROUPS = (
    ("华阳街道外卖快递骑手", "delivery", 3, 100, 60, ("美团", "饿了么", "顺丰速运", "京东物流")),
    ("华阳街道药店从业人员", "pharmacy", 7, 100, 40, ("老百姓大药房", "一心堂", "太极大药房")),
    ("华阳街道商超从业人员（抽检）", "supermarket", 7, 30, 50, ("伊藤洋华堂", "红旗连锁", "永辉超市")),
    ("华阳街道建筑工地人员（抽检）", "construction", 7, 20, 50, ("中建三局天府项目部", "华西集团华阳项目部")),
)
EXEMPT_BEDRIDDEN = 12
EXEMPT_INFANTS = 6
EXEMPT_AWAY = ("在外地出差", "在外地上学", "在外务工")


def _plan(state: BuildState, rnd: TestingRound) -> dict[str, int]:
    """The round under way planned around its people, through the real actions: every compound sent to
    its nearest open site; bedridden residents not yet sampled exempt for home sampling (work items),
    infants and a few people away exempt with their reasons; and four key-industry groups."""
    from django.db.models import Exists, OuterRef

    from jiedao.nat.groups import do_add_group_members, do_save_group
    from jiedao.nat.models import Sample
    from jiedao.nat.rounds import do_assign_nearest_sites, do_exempt_person
    from jiedao.registry.choices import CareTagKind
    from jiedao.registry.models import Resident

    rng = state.rng("nat-plan")
    assigned = do_assign_nearest_sites(actor=None, rnd=rnd)
    assert state.demo_grid is not None
    demo_grid = state.demo_grid.grid.pk
    waiting = (
        Resident.objects.filter(moved_out__isnull=True)
        .filter(~Exists(Sample.objects.filter(round=rnd, person_id=OuterRef("person_id"))))
        .select_related("person")
    )

    def tagged(kind: str, n: int) -> list[Any]:
        # the demo grid's first, so its grid worker has some; then elsewhere
        found = list(waiting.filter(person__care_tags__kind=kind).order_by("pk")[:2000])
        found.sort(key=lambda r: (r.grid_id != demo_grid, r.pk))
        return found[:n]

    exempt = 0
    for r in tagged(CareTagKind.BEDRIDDEN, EXEMPT_BEDRIDDEN):
        do_exempt_person(
            actor=None, rnd=rnd, person=r.person, reason="home_sampling", note="卧床，需上门采样"
        )
        exempt += 1
    for r in tagged(CareTagKind.INFANT, EXEMPT_INFANTS):
        do_exempt_person(actor=None, rnd=rnd, person=r.person, reason="infant", note="婴儿，随家长安排")
        exempt += 1
    others = list(
        waiting.filter(grid_id=demo_grid).exclude(person__care_tags__isnull=False).order_by("pk")[:200]
    )
    for note, r in zip(EXEMPT_AWAY, rng.sample(others, min(len(others), len(EXEMPT_AWAY))), strict=False):
        do_exempt_person(actor=None, rnd=rnd, person=r.person, reason="away", note=note)
        exempt += 1

    adults = list(
        Resident.objects.filter(moved_out__isnull=True, person__care_tags__isnull=True)
        .select_related("person")
        .order_by("pk")[:20000]
    )
    members = 0
    for name, industry, every, share, size, employers in GROUPS:
        group = do_save_group(
            actor=None, name=name, industry=industry, frequency_days=every, spot_check_percent=share
        )
        chosen = rng.sample(adults, min(size, len(adults)))
        rows = [
            {
                "row": n,
                "name": r.person.name,
                "id_number": r.person.id_number,
                "employer": rng.choice(employers),
            }
            for n, r in enumerate(chosen, start=2)
        ]
        members += do_add_group_members(actor=None, group=group, rows=rows)["counts"]["added"]
    return {
        "nat_assigned_compounds": assigned["assigned"],
        "nat_exemptions": exempt,
        "nat_groups": len(GROUPS),
        "nat_group_members": members,
    }


def summary_lines(counts: dict[str, Any]) -> list[str]:
    if not counts.get("nat_sites"):
        return []
    return [
        f"Testing: {counts['nat_sites']} sampling sites ({counts.get('nat_sites_open', 0)} open, "
        f"{counts.get('nat_sites_paused', 0)} paused, {counts.get('nat_sites_closed', 0)} closed); "
        f"round {FIRST_ROUND} (three days ago): {counts.get('nat_round1_covered', 0):,} of "
        f"{counts.get('nat_round1_expected', 0):,} residents sampled "
        f"({_pct(counts.get('nat_round1_covered', 0), counts.get('nat_round1_expected', 0))}) in "
        f"{counts.get('nat_round1_tubes', 0):,} tubes, {counts.get('nat_round1_positive', 0)} positive pool "
        f"({counts.get('nat_positive_pushed', 0)} people pushed to screening)",
        f"  round {FIRST_ROUND + 1} under way: {_pct(counts.get('nat_round2_covered', 0), counts.get('nat_round2_expected', 0))} "
        f"sampled so far ({counts.get('nat_round2_samples', 0):,} samples), {counts.get('nat_round2_open', 0)} tubes "
        f"open at sites, {counts.get('nat_round2_awaiting', 0):,} sealed awaiting results "
        f"({counts.get('nat_round2_at_lab', 0):,} of them at the laboratories), "
        f"{counts.get('nat_round2_reported', 0):,} reported negative; {counts.get('nat_assigned_compounds', 0)} "
        f"compounds assigned to sites, {counts.get('nat_exemptions', 0)} exemptions; "
        f"{counts.get('nat_groups', 0)} key-industry groups ({counts.get('nat_group_members', 0)} people)",
    ]
