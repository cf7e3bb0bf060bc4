"""Nucleic-acid testing at mass-testing scale, on PostgreSQL with the production server (`jiedao serve`):
registrations singly and in batches, coverage of a 500,000-resident round, the positive-pool follow-up
and a sustained round at ten times its average rate.

Everything runs on one throwaway PostgreSQL database (`--pg-url`, default postgres://postgres@127.0.0.1:5432;
created for the run, dropped at the end). The register is the Huayang demo
(`build_demo(scale=--persons)`, default 500,000 residents). Set up straight to the models (not measured):
one sampling site per community; `--phones` sampler service accounts, each with an API key holding
`nat.register` and on one site's staff; a lab key (`nat.results`) for the command centre; rounds:

- a **coverage round** of the whole subdistrict with samples (10-in-1 tubes, sealed, COPY) for 90 % of
  the residents, and a **compound round** (Nanhu Shangjing alone) with 90 % of its residents sampled;
- a **registration round**, empty, that the load tests register into (each person once).

Measured:
1. `POST /api/v1/nat/registration`, one `sample` item each into tubes opened beforehand, `--single`
   requests from `--clients` keep-alive clients (each its own sampler and tubes), beside `GET /healthz`
   on the same server and clients (the limit);
2. `POST /api/v1/nat/registrations` with 50 items each, cut from each client's stream of open_tube, ten
   samples, close_tube, … (`--batches` batches), beside the limit: psycopg `executemany` of the same
   number of rows into `nat_sample` itself, 50 rows per transaction, on as many connections;
3. in process: `coverage.coverage` for the whole subdistrict (as `command`) and for one community (its
   staff), the first page of `coverage.missing` (25 rows + `count()`), the round page
   `/nat/rounds/<id>/` (Django test client) and the compound round's coverage, each beside one plain
   `count()` of the residents in that scope;
4. a lab's results batch (`POST /api/v1/nat/results`) of `--result-tubes` sealed tubes, one of them a
   positive 10-in-1 pool: the upload's own time, and from the moment before posting until the tube's
   work items exist (a thread polling the database every 5 ms);
5. the target: `--phones` phones at `--rate` samples/s together (default 58 = 10 × 500,000 / 86,400)
   for `--duration` seconds; each phone samples at its share of the rate, a tube of ten at a time, and
   sends what it has every 3–12 s (10–50 items); batch latency percentiles, achieved rate, errors
   (anything not `created`, must be 0), and the samples stored against those the phones took.

Also in process: queries per item and the statements that dominate a 50-item batch, and a profile.
A quick try: `python -m benchmarks nat --persons 5000 --single 300 --batches 40 --duration 20`."""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime as dt
import http.client
import io
import itertools
import json
import os
import pstats
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.common import (
    Load,
    QueryCounter,
    counting_queries,
    free_port,
    ms,
    options,
    percentiles,
    pg_admin,
    ratio,
    say,
    setup_django,
    timed,
    wait_ready,
    write,
)

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432"
DEFAULTS = dict(
    persons=500_000, single=2_000, batches=96, duration=120, rate=58, clients=8, phones=40,
    result_tubes=1_000, repeat=5, port=0,
)  # fmt: skip
COVERED = 0.9  # share of residents sampled in the coverage rounds
BATCH = 50
POOL = 10
PROFILE_BATCHES = 6


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _percentiles_full(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples) or [0.0]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {**percentiles(ordered), "p99_ms": ms(p99), "max_ms": ms(ordered[-1])}


class StatementProfile(QueryCounter):
    """QueryCounter that also adds up how often and how long each statement ran."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.total: dict[str, float] = {}

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().__call__(execute, sql, params, many, context)
        finally:
            self.calls[sql] += 1
            self.total[sql] = self.total.get(sql, 0.0) + time.perf_counter() - started

    def dominant(self, n: int = 10) -> list[dict[str, Any]]:
        worst = sorted(self.total.items(), key=lambda kv: -kv[1])[:n]
        return [{"calls": self.calls[sql], "total_ms": ms(t), "sql": sql[:400]} for sql, t in worst]


# ---- setup (straight to the models: not measured) -------------------------------------------------


def _copy(sql: str, rows: Iterator[tuple[Any, ...]]) -> int:
    from django.db import connection

    n = 0
    with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _covered_round(
    rnd: Any, person_ids: list[int], sites: list[Any], prefix: str, rng: random.Random
) -> dict[str, Any]:
    """Sealed 10-in-1 tubes and their samples for `person_ids` in `rnd`, by COPY."""
    from django.db import connection

    now = _now()
    tubes = (len(person_ids) + POOL - 1) // POOL
    starts = now - dt.timedelta(hours=18)
    opened = [starts + dt.timedelta(seconds=rng.uniform(0, 16 * 3600)) for _ in range(tubes)]
    opened.sort()

    def tube_rows() -> Iterator[tuple[Any, ...]]:
        for i, at in enumerate(opened):
            members = min(POOL, len(person_ids) - i * POOL)
            yield (f"{prefix}{i:07d}", rnd.pk, sites[i % len(sites)].pk, POOL, members, "closed", at,
                   at + dt.timedelta(minutes=8), "", "", now, now)  # fmt: skip

    _copy(
        "COPY nat_tube (barcode, round_id, site_id, capacity, members, status, opened_at, closed_at, result, "
        "lab, created_at, updated_at) FROM STDIN",
        tube_rows(),
    )
    with connection.cursor() as cur:
        cur.execute("SELECT id, opened_at FROM nat_tube WHERE round_id = %s ORDER BY barcode", [rnd.pk])
        ids = cur.fetchall()

    def sample_rows() -> Iterator[tuple[Any, ...]]:
        for n, person_id in enumerate(person_ids):
            tube_id, at = ids[n // POOL]
            yield (rnd.pk, tube_id, person_id, at + dt.timedelta(seconds=20 * (n % POOL)), "", now, now)

    samples = _copy(
        "COPY nat_sample (round_id, tube_id, person_id, sampled_at, repeat_reason, created_at, updated_at) "
        "FROM STDIN",
        sample_rows(),
    )
    return {"tubes": len(ids), "samples": samples, "barcodes": [f"{prefix}{i:07d}" for i in range(len(ids))]}


def setup(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from django.db import connection

    from jiedao.nat.actions import do_open_round, do_save_site
    from jiedao.nat.models import Tube
    from jiedao.org.actions import do_create_api_key, do_create_service_key
    from jiedao.org.choices import Role, UnitLevel
    from jiedao.org.models import Community, Grid, User
    from jiedao.registry.models import Compound, Person, Resident

    now = _now()
    command = User.objects.get(username="command")
    communities = list(Community.objects.order_by("pk"))
    sites = [
        do_save_site(
            actor=None, name=f"基准测试采样点{n:02d}", community=c, address=f"{c.name}社区广场", lanes=4
        )
        for n, c in enumerate(communities, start=1)
    ]
    grids: dict[int | None, Any] = {
        c.pk: Grid.objects.filter(community=c).order_by("pk").first() for c in communities
    }
    phones: list[dict[str, Any]] = []
    for n in range(max(args.phones, args.clients)):
        site = sites[n % len(sites)]
        key, raw = do_create_service_key(
            actor=None, name=f"采样终端{n + 1:03d}", role=Role.SAMPLER, level=UnitLevel.GRID,
            community=site.community, grid=grids[site.community_id], permissions=["nat.register"],
        )  # fmt: skip
        site.staff.add(key.user)
        phones.append({"key": raw, "site": site.pk, "user": key.user_id})
    _lab, lab_key = do_create_api_key(actor=None, name="检测机构", user=command, permissions=["nat.results"])

    starts, ends = now - dt.timedelta(hours=20), now + dt.timedelta(hours=6)
    cover = do_open_round(actor=None, name="全员核酸 覆盖", sites=sites, starts_at=starts, ends_at=ends)
    register = do_open_round(actor=None, name="全员核酸 登记", sites=sites, starts_at=starts, ends_at=ends)
    nanhu = (
        Compound.objects.filter(name__contains="南湖尚景").first() or Compound.objects.order_by("pk").first()
    )
    assert nanhu is not None
    compound = do_open_round(
        actor=None, name="南湖尚景 核酸", compounds=[nanhu], sites=sites, starts_at=starts, ends_at=ends
    )

    residents = list(
        Resident.objects.filter(moved_out__isnull=True).order_by("person_id")
        .values_list("person_id", flat=True).distinct()
    )  # fmt: skip
    covered = sorted(rng.sample(residents, round(COVERED * len(residents))))
    copy_s, cov = timed(lambda: _covered_round(cover, covered, sites, "CV", rng))
    say(f"coverage round: {cov['samples']:,} samples in {cov['tubes']:,} tubes by COPY in {copy_s:.0f}s")
    in_compound = list(
        Resident.objects.filter(moved_out__isnull=True, household__flat__compound=nanhu)
        .values_list("person_id", flat=True).distinct()
    )  # fmt: skip
    comp = _covered_round(
        compound, sorted(rng.sample(in_compound, round(COVERED * len(in_compound)))), sites, "NH", rng
    )

    # People for the registration round: each registered once, never twice.
    need = (
        args.single
        + args.batches * BATCH
        + int(args.rate * args.duration * 1.6)
        + PROFILE_BATCHES * BATCH
        + 500
    )
    chosen = rng.sample(residents, min(need, len(residents)))
    ids = dict(Person.objects.filter(pk__in=chosen, id_type="resident_id").values_list("pk", "id_number"))
    people = [ids[pk] for pk in chosen if ids.get(pk)]
    if len(people) < need:
        say(f"only {len(people):,} people for {need:,} registrations: the last phases may run short")

    # Tubes opened beforehand for the single registrations: each client its own, ten places each.
    per_client = args.single // args.clients + POOL
    single_tubes: list[list[str]] = []
    rows = []
    for c in range(args.clients):
        codes = [f"SG{c:02d}{t:06d}" for t in range((per_client + POOL - 1) // POOL + 1)]
        single_tubes.append(codes)
        site_id = phones[c]["site"]
        rows += [
            Tube(
                barcode=code,
                round=register,
                site_id=site_id,
                capacity=POOL,
                opened_at=now - dt.timedelta(hours=1),
            )
            for code in codes
        ]
    Tube.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cur:  # fresh statistics, as after any large load
        cur.execute("ANALYZE")
    return {
        "phones": phones, "lab_key": lab_key, "command": command.pk, "sites": [s.pk for s in sites],
        "rounds": {"coverage": cover.pk, "registration": register.pk, "compound": compound.pk},
        "compound": {"id": nanhu.pk, "name": nanhu.name, "residents": len(in_compound), "samples": comp["samples"]},
        "coverage_round": {"residents": len(residents), "samples": cov["samples"], "tubes": cov["tubes"],
                           "copy_s": round(copy_s, 1)},
        "result_barcodes": rng.sample(cov["barcodes"], min(args.result_tubes + 1, len(cov["barcodes"]))),
        "people": people, "single_tubes": single_tubes,
    }  # fmt: skip


# ---- 3. coverage, in process -----------------------------------------------------------------------


def measure(calls: list[Callable[[], Any]]) -> dict[str, Any]:
    samples = []
    with counting_queries() as counter:
        for call in calls:
            seconds, _ = timed(call)
            samples.append(seconds)
    return {**percentiles(samples), "queries": counter.count / len(calls), "slowest_sql": counter.top(3)}


def coverage_part(args: argparse.Namespace, ctx: dict[str, Any]) -> dict[str, Any]:
    from django.db.models import Count, Q
    from django.test import Client

    from jiedao.control.queries import role_scope
    from jiedao.nat import coverage
    from jiedao.nat.models import TestingRound
    from jiedao.nat.views import ROUND_ROLES
    from jiedao.org.models import Community, User
    from jiedao.registry.models import Resident

    command = User.objects.get(username="command")
    everything = role_scope(command, ROUND_ROLES)
    biggest = (
        Resident.objects.filter(moved_out__isnull=True).values("community_id").annotate(n=Count("pk"))
        .order_by("-n").values_list("community_id", flat=True)[0]
    )  # fmt: skip
    community = Community.objects.get(pk=biggest)
    staff = User.objects.filter(
        assignments__role="community_staff", assignments__community=community, assignments__level="community"
    ).order_by("username")[0]
    local = role_scope(staff, ROUND_ROLES)
    cover = TestingRound.objects.get(pk=ctx["rounds"]["coverage"])
    compound = TestingRound.objects.get(pk=ctx["rounds"]["compound"])
    out: dict[str, Any] = {"community": community.name, "staff": staff.username}

    def scoped_count(rnd: Any, scope: Any) -> Callable[[], int]:
        def call() -> int:
            qs = coverage.residents_in_scope(rnd)
            if not scope.everything:
                qs = qs.filter(Q(community_id__in=scope.community_ids) | Q(grid_id__in=scope.grid_ids))
            return qs.count()

        return call

    def cov(rnd: Any, scope: Any) -> Callable[[], Any]:
        return lambda: coverage.coverage(rnd, scope)

    def missing_page(rnd: Any, scope: Any) -> Callable[[], Any]:
        def call() -> None:
            qs = coverage.missing(rnd, scope)
            list(qs[:25])
            qs.count()

        return call

    def page(user: Any, url: str) -> Callable[[], None]:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)

        def call() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return call

    cases = {
        "subdistrict: count of residents (limit)": scoped_count(cover, everything),
        "subdistrict: coverage()": cov(cover, everything),
        "subdistrict: missing() first page + count": missing_page(cover, everything),
        "subdistrict: round page as command": page(command, f"/nat/rounds/{cover.pk}/"),
        "subdistrict: missing page as command": page(command, f"/nat/rounds/{cover.pk}/missing/"),
        "community: count of residents (limit)": scoped_count(cover, local),
        "community: coverage()": cov(cover, local),
        "community: missing() first page + count": missing_page(cover, local),
        "community: round page as its staff": page(staff, f"/nat/rounds/{cover.pk}/"),
        "compound: count of residents (limit)": scoped_count(compound, everything),
        "compound: coverage()": cov(compound, everything),
        "compound: round page as command": page(command, f"/nat/rounds/{compound.pk}/"),
    }
    for label, call in cases.items():
        call()  # warm
        out[label] = measure([call] * args.repeat)
        say(f"{label}: {out[label]['median_ms']} ms, {out[label]['queries']:.0f} queries")
    rows, total = coverage.coverage(cover, everything)
    out["subdistrict totals"] = {"expected": total.expected, "tested": total.tested, "rows": len(rows)}
    _rows, local_total = coverage.coverage(cover, local)
    out["community totals"] = {"expected": local_total.expected, "tested": local_total.tested}
    _rows, comp_total = coverage.coverage(compound, everything)
    out["compound totals"] = {"expected": comp_total.expected, "tested": comp_total.tested}
    say(f"coverage: {total.tested:,} of {total.expected:,}; {community.name} {local_total.tested:,} of "
        f"{local_total.expected:,}; compound {comp_total.tested:,} of {comp_total.expected:,}")  # fmt: skip
    return out


# ---- the item streams ------------------------------------------------------------------------------


class People:
    """The resident IDs to register, each handed out once across threads."""

    def __init__(self, numbers: list[str]) -> None:
        self.numbers = iter(numbers)
        self.lock = threading.Lock()

    def next(self) -> str | None:
        with self.lock:
            return next(self.numbers, None)


_keys = itertools.count(1)
_key_lock = threading.Lock()


def _key(prefix: str) -> str:
    with _key_lock:
        return f"{prefix}-{next(_keys):09d}"


def tube_stream(phone: int, site: int, rnd: int, people: People, prefix: str) -> Iterator[dict[str, Any]]:
    """A sampler's items in order: open a 10-in-1 tube, ten samples, close it, again; `at` is now."""
    for t in itertools.count():
        barcode = f"{prefix}{phone:03d}{t:06d}"
        yield {"key": _key(prefix), "op": "open_tube", "barcode": barcode, "capacity": POOL, "round": rnd,
               "site": site, "at": _now().isoformat()}  # fmt: skip
        for _ in range(POOL):
            number = people.next()
            if number is None:
                return
            yield {"key": _key(prefix), "op": "sample", "barcode": barcode, "id_number": number,
                   "at": _now().isoformat()}  # fmt: skip
        yield {"key": _key(prefix), "op": "close_tube", "barcode": barcode, "at": _now().isoformat()}


def _post(conn: http.client.HTTPConnection, path: str, body: Any, api_key: str) -> tuple[int, Any]:
    data = json.dumps(body, ensure_ascii=False).encode()
    conn.request("POST", path, body=data, headers={"Content-Type": "application/json", "X-API-Key": api_key})
    response = conn.getresponse()
    raw = response.read()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw[:200]


def healthz(conn: http.client.HTTPConnection) -> Iterator[Callable[[], int]]:
    def send() -> int:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status

    while True:
        yield send


# ---- 1. single registrations -----------------------------------------------------------------------


def singles(port: int, args: argparse.Namespace, ctx: dict[str, Any], people: People) -> dict[str, Any]:
    """Each client posts one `sample` item at a time into its own tubes opened beforehand. A `send`
    answers 200 when the item was created (HTTP 201), its status otherwise (`Load` counts non-200)."""
    supply_lock = threading.Lock()
    clients = iter(range(args.clients))
    refusals: list[Any] = []

    def make(conn: http.client.HTTPConnection) -> Iterator[Callable[[], int]]:
        with supply_lock:
            c = next(clients)
        phone = ctx["phones"][c]
        tubes = iter(ctx["single_tubes"][c])
        barcode, used = next(tubes), 0
        for _ in range(args.single // args.clients):  # each client its share, into its own tubes
            number = people.next()
            if number is None:
                return
            if used == POOL:
                barcode, used = next(tubes), 0
            used += 1
            item = {"key": _key("one"), "op": "sample", "barcode": barcode, "id_number": number,
                    "at": _now().isoformat()}  # fmt: skip

            def send(item: dict[str, Any] = item) -> int:
                status, answer = _post(conn, "/api/v1/nat/registration", item, phone["key"])
                if status != 201:
                    refusals.append(answer)
                return 200 if status == 201 else status

            yield send

    out = Load(port, args.clients, 3600).run(make)
    out["refusals"] = refusals[:5]
    return out


# ---- 2. batches of 50 ------------------------------------------------------------------------------


def batches(port: int, args: argparse.Namespace, ctx: dict[str, Any], people: People) -> dict[str, Any]:
    supply = iter(range(args.batches))
    lock = threading.Lock()
    clients = iter(range(args.clients))
    created: Counter[str] = Counter()
    refusals: list[Any] = []
    rnd = ctx["rounds"]["registration"]

    def make(conn: http.client.HTTPConnection) -> Iterator[Callable[[], int]]:
        with lock:
            c = next(clients)
        phone = ctx["phones"][c]
        stream = tube_stream(c, phone["site"], rnd, people, "BT")
        while True:
            with lock:
                if next(supply, None) is None:
                    return
            items = list(itertools.islice(stream, BATCH))
            if not items:
                return

            def send(items: list[dict[str, Any]] = items) -> int:
                status, answer = _post(conn, "/api/v1/nat/registrations", {"items": items}, phone["key"])
                if status != 200:
                    refusals.append(answer)
                    return status
                ops = {i["key"]: i["op"] for i in items}
                bad = [a for a in answer["items"] if a["status"] != "created"]
                with lock:
                    for a in answer["items"]:
                        if a["status"] == "created":
                            created[ops[a["key"]]] += 1
                    refusals.extend(bad[:2])
                return 200 if not bad else 298

            yield send

    out = Load(port, args.clients, 3600).run(make)
    out["created"] = dict(created)
    out["samples_per_second"] = round(created["sample"] / out["seconds"], 1)
    out["items_per_second"] = round(sum(created.values()) / out["seconds"], 1)
    out["refusals"] = refusals[:5]
    return out


def raw_inserts(
    url: str, rows: int, clients: int, rnd: int, tube: int, person_ids: list[int]
) -> dict[str, Any]:
    """The limit: psycopg `executemany` into nat_sample, `BATCH` rows per transaction, `clients`
    connections at once, `rows` rows in all."""
    import psycopg

    todo = iter(range((rows + BATCH - 1) // BATCH))
    lock = threading.Lock()
    done = Counter[str]()
    sql = (
        "INSERT INTO nat_sample (round_id, tube_id, person_id, sampled_at, repeat_reason, created_at, "
        "updated_at) VALUES (%s, %s, %s, %s, '', %s, %s)"
    )

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        with psycopg.connect(url) as conn:
            while True:
                with lock:
                    if next(todo, None) is None:
                        return
                now = _now()
                batch = [(rnd, tube, rng.choice(person_ids), now, now, now) for _ in range(BATCH)]
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(sql, batch)
                with lock:
                    done["rows"] += BATCH

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - started
    return {"rows": done["rows"], "seconds": round(seconds, 2), "per_second": round(done["rows"] / seconds, 1),
            "method": f"psycopg executemany into nat_sample, {BATCH} rows per transaction, {clients} connections"}  # fmt: skip


# ---- 4. a positive pool among negatives -------------------------------------------------------------


def positive(port: int, ctx: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Q
    from django.utils import timezone

    from jiedao.nat.models import Tube
    from jiedao.work.models import WorkItem

    codes = ctx["result_barcodes"]
    hot = Tube.objects.get(barcode=codes[0])
    # local time without an offset, as a lab's file has it (parse_when reads text as local time)
    now = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
    rows = [{"barcode": code, "result": "阳性" if n == 0 else "阴性", "tested_at": now}
            for n, code in enumerate(codes)]  # fmt: skip
    random.Random(3).shuffle(rows)
    seen: dict[str, float] = {}
    stop = threading.Event()

    # the command centre's item for the tube, and a re-test item per member (one transaction)
    alerts = WorkItem.objects.filter(
        Q(kind="nat.positive_pool", subject_id=str(hot.pk))
        | Q(dedupe_key__startswith=f"nat.retest:{hot.barcode}:")
    )

    def poll(t0: float) -> None:
        try:
            while not stop.is_set():
                items = alerts.count()
                if items:
                    seen["work_items"] = time.perf_counter() - t0
                    seen["count"] = items
                    return
                time.sleep(0.005)
        finally:
            connection.close()

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    t0 = time.perf_counter()
    watcher = threading.Thread(target=poll, args=(t0,))
    watcher.start()
    status, answer = _post(conn, "/api/v1/nat/results", {"key": "lab-batch-0001", "lab": "华阳检测中心", "rows": rows},
                           ctx["lab_key"])  # fmt: skip
    upload = time.perf_counter() - t0
    watcher.join(timeout=60)
    stop.set()
    conn.close()
    hot.refresh_from_db()
    items = alerts.all()
    pushed = hot.pushed_list.entries.count() if hot.pushed_list is not None else 0
    out = {
        "status": status,
        "counts": answer.get("counts") if isinstance(answer, dict) else str(answer),
        "tubes": len(rows),
        "upload_ms": ms(upload),
        "work_items_seen_ms": ms(seen["work_items"]) if "work_items" in seen else None,
        "work_items": items.count(),
        "pushed_entries": pushed,
        "members": hot.members,
        "handled": hot.positive_handled_at is not None,
    }
    say(f"results: {len(rows):,} tubes uploaded in {out['upload_ms']} ms; work items for the positive pool seen "
        f"at {out['work_items_seen_ms']} ms ({out['work_items']} items, {pushed} pushed entries)")  # fmt: skip
    return out


# ---- 5. the sustained round ------------------------------------------------------------------------


def sustained(port: int, args: argparse.Namespace, ctx: dict[str, Any], people: People) -> dict[str, Any]:
    """`--phones` phones at `--rate` samples/s together for `--duration` s: each phone samples at its
    share of the rate (a person every phones/rate s, ten to a tube) and sends what it has every 3–12 s,
    in order, waiting for the answer. What is left at the end is sent once more."""
    rnd = ctx["rounds"]["registration"]
    per_phone = args.rate / args.phones
    lock = threading.Lock()
    latencies: list[float] = []
    sizes: list[int] = []
    statuses: Counter[str] = Counter()
    created: Counter[str] = Counter()
    errors: list[Any] = []
    lags: list[float] = []
    started, wall0 = time.monotonic(), _now()
    end = started + args.duration
    last_answer = [started]
    backlog: Counter[str] = Counter()  # items still on the phones when the drain period ran out
    offered: Counter[str] = Counter()  # samples the phones took in the period (the rate × the period)

    def phone(n: int) -> None:
        rng = random.Random(100 + n)
        spec = ctx["phones"][n]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        tube, in_tube, sampled = 0, 0, 0
        pending: list[dict[str, Any]] = []
        offset = rng.uniform(0, 1 / per_phone)  # phones do not start in step
        next_send = started + rng.uniform(0, 12)

        def at(t: float) -> str:  # from one reading of the clock, so times keep their order
            return (wall0 + dt.timedelta(seconds=t - started)).isoformat()

        def take(until: float) -> None:
            """The items sampled by `until` (a sample every 1/per_phone s), tubes opened and closed."""
            nonlocal tube, in_tube, sampled
            while True:
                due = started + offset + sampled / per_phone
                if due > until:
                    return
                barcode = f"SU{n:03d}{tube:06d}"
                if in_tube == 0:
                    pending.append({"key": _key("su"), "op": "open_tube", "barcode": barcode, "capacity": POOL,
                                    "round": rnd, "site": spec["site"], "at": at(due)})  # fmt: skip
                number = people.next()
                if number is None:
                    return
                pending.append({"key": _key("su"), "op": "sample", "barcode": barcode, "id_number": number,
                                "at": at(due), "_due": due})  # fmt: skip
                sampled += 1
                in_tube += 1
                if in_tube == POOL:
                    pending.append({"key": _key("su"), "op": "close_tube", "barcode": barcode, "at": at(due)})
                    tube, in_tube = tube + 1, 0

        def send() -> None:
            nonlocal pending
            items, pending = pending[:500], pending[500:]
            if not items:
                return
            body = [{k: v for k, v in i.items() if k != "_due"} for i in items]
            t = time.perf_counter()
            try:
                status, answer = _post(conn, "/api/v1/nat/registrations", {"items": body}, spec["key"])
            except Exception as exc:  # a broken connection is an error
                conn.close()
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    statuses["connection"] += len(items)
                return
            took = time.perf_counter() - t
            answered = time.monotonic()
            with lock:
                latencies.append(took)
                sizes.append(len(items))
                last_answer[0] = max(last_answer[0], answered)
                if status != 200:
                    statuses[f"http {status}"] += len(items)
                    errors.append(answer)
                    return
                ops = {i["key"]: i for i in items}
                for a in answer["items"]:
                    statuses[a["status"]] += 1
                    item = ops[a["key"]]
                    if a["status"] == "created":
                        created[item["op"]] += 1
                        if "_due" in item:
                            lags.append(answered - item["_due"])
                    elif len(errors) < 20:
                        errors.append(a)

        try:
            while True:
                now = time.monotonic()
                if now >= end:
                    break
                time.sleep(max(0.0, min(next_send, end) - now))
                take(min(time.monotonic(), end))
                send()
                next_send = max(time.monotonic(), next_send + rng.uniform(3, 12))
            take(end)
            while pending and time.monotonic() < end + args.duration:  # a backlog gets one more period
                send()
            with lock:
                backlog["items"] += len(pending)
                backlog["samples"] += sum(1 for i in pending if i["op"] == "sample")
                offered["samples"] += sampled
        finally:
            conn.close()

    threads = [threading.Thread(target=phone, args=(n,)) for n in range(args.phones)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    finished = last_answer[0] - started
    errors_n = sum(n for s, n in statuses.items() if s != "created")
    out = {
        "phones": args.phones,
        "target_per_second": args.rate,
        "duration_s": args.duration,
        "finished_s": round(finished, 2),
        "samples_offered": offered["samples"],
        "samples_created": created["sample"],
        "items_created": sum(created.values()),
        "achieved_per_second": round(created["sample"] / max(finished, args.duration), 1),
        "batches": len(latencies),
        "batch_items": {
            "median": statistics.median(sizes) if sizes else 0,
            "max": max(sizes, default=0),
            "min": min(sizes, default=0),
        },
        "batch_latency": _percentiles_full(latencies),
        "sample_to_answer": _percentiles_full(lags),
        "statuses": dict(statuses),
        "backlog_items": backlog["items"],
        "backlog_samples": backlog["samples"],
        "kept_up": backlog["items"] == 0 and finished <= args.duration + 15,
        "errors": errors_n,
        "error_samples": errors[:5],
    }
    say(f"sustained: {out['samples_created']:,} samples in {finished:.0f}s = {out['achieved_per_second']}/s "
        f"(target {args.rate}/s), batch p50/p95/p99 {out['batch_latency']['median_ms']}/"
        f"{out['batch_latency']['p95_ms']}/{out['batch_latency']['p99_ms']} ms, errors {errors_n}, "
        f"left on the phones {backlog['samples']:,} samples")  # fmt: skip
    return out


# ---- in process: queries per item, and a profile ---------------------------------------------------


def profile(ctx: dict[str, Any], people: People) -> dict[str, Any]:
    from jiedao.nat.actions import do_apply_registrations
    from jiedao.org.models import User

    spec = ctx["phones"][0]
    stream = tube_stream(999, spec["site"], ctx["rounds"]["registration"], people, "PF")
    batches_ = [list(itertools.islice(stream, BATCH)) for _ in range(PROFILE_BATCHES)]
    half = PROFILE_BATCHES // 2
    counter = StatementProfile()
    times = []
    from django.db import connection

    with connection.execute_wrapper(counter):
        for items in batches_[:half]:
            actor = User.objects.get(pk=spec["user"])  # as a request loads it
            took, result = timed(partial(do_apply_registrations, actor=actor, items=items))
            assert set(result.counts) == {"created"}, result.counts
            times.append(took)
    items_n = sum(len(b) for b in batches_[:half])
    prof = cProfile.Profile()
    prof.enable()
    for items in batches_[half:]:
        do_apply_registrations(actor=User.objects.get(pk=spec["user"]), items=items)
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(18)
    lines = [ln for ln in text.getvalue().splitlines() if ln.strip()][-19:]
    out = {
        "batch_ms": round(statistics.median(times) * 1000, 1),
        "items": items_n,
        "queries": counter.count,
        "queries_per_item": round(counter.count / items_n, 2),
        "sql_ms_per_item": round(sum(counter.total.values()) * 1000 / items_n, 3),
        "ms_per_item": round(sum(times) * 1000 / items_n, 3),
        "dominant_sql": counter.dominant(12),
        "profile_tottime": lines,
    }
    say(f"in process: a {BATCH}-item batch {out['batch_ms']} ms, {out['queries_per_item']} queries per item, "
        f"{out['sql_ms_per_item']} ms of SQL per item of {out['ms_per_item']} ms")  # fmt: skip
    return out


# ---- the run ---------------------------------------------------------------------------------------


def _start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "JIEDAO_DEBUG"}
    env["JIEDAO_LOG_LEVEL"] = "WARNING"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jiedao.cli", "serve", "--no-migrate", "--port", str(port), "--threads", "8"],
            env=env, cwd=Path(__file__).parent.parent, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_ready(port, proc)
    return proc


def run(args: argparse.Namespace, pg_url: str, db: str) -> dict[str, Any]:
    setup_django()
    from django.db import connection

    from jiedao.demo.build import build_demo
    from jiedao.nat.models import Sample, TestingRound, Tube

    out: dict[str, Any] = {"load_average": {}}

    def load(phase: str) -> None:  # the machine is shared: what else was running, per phase
        out["load_average"][phase] = [round(x, 2) for x in os.getloadavg()]

    load("build")
    build_s, _summary = timed(lambda: build_demo(scale=args.persons, seed=2022))
    say(f"demo register of {args.persons:,} built on PostgreSQL in {build_s:.0f}s")
    out["build_s"] = round(build_s, 1)
    setup_s, ctx = timed(lambda: setup(args, random.Random(7)))
    out["setup_s"] = round(setup_s, 1)
    out["setup"] = {k: ctx[k] for k in ("rounds", "compound", "coverage_round")}
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        out["server_version"] = cur.fetchone()[0]
    load("coverage")
    out["coverage"] = coverage_part(args, ctx)
    people = People(ctx.pop("people"))
    out["in_process"] = profile(ctx, people)
    connection.close()

    var = Path(os.environ.get("JIEDAO_VAR_DIR") or ".")
    port = args.port or free_port()
    log = var / "serve.log"
    proc = _start_server(port, log)
    try:
        Load(port, args.clients, 3).run(healthz)  # warm
        load("single")
        out["single"] = singles(port, args, ctx, people)
        say(f"single: {out['single']['per_second']} registrations/s ({out['single']['requests']:,}, "
            f"errors {out['single']['errors']}), median {out['single']['median_ms']} ms")  # fmt: skip
        out["healthz"] = Load(port, args.clients, min(20.0, max(5.0, out["single"]["seconds"]))).run(healthz)
        say(f"/healthz: {out['healthz']['per_second']}/s (errors {out['healthz']['errors']})")
        load("batches")
        out["batches"] = batches(port, args, ctx, people)
        b = out["batches"]
        say(f"batches of {BATCH}: {b['samples_per_second']} samples/s ({b['items_per_second']} items/s, "
            f"{b['requests']} batches, errors {b['errors']}), median {b['median_ms']} ms")  # fmt: skip
        rnd = TestingRound.objects.get(pk=ctx["rounds"]["registration"])
        tube = Tube.objects.filter(round=rnd).order_by("pk").first()
        assert tube is not None
        person_ids = list(Sample.objects.filter(round=rnd).values_list("person_id", flat=True)[:5000])
        connection.close()
        out["raw_inserts"] = raw_inserts(
            f"{pg_url}/{db}",
            max(b["created"].get("sample", 0), BATCH),
            args.clients,
            rnd.pk,
            tube.pk,
            person_ids,
        )
        say(f"limit: {out['raw_inserts']['per_second']} rows/s ({out['raw_inserts']['method']})")
        out["positive"] = positive(port, ctx)
        load("sustained")
        out["sustained"] = sustained(port, args, ctx, people)
        load("end")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    # what the database holds afterwards: every created sample written, once
    rnd = TestingRound.objects.get(pk=ctx["rounds"]["registration"])
    raw = out["raw_inserts"]["rows"]
    registered = Sample.objects.filter(round=rnd).count() - raw
    expected = (
        out["single"]["statuses"].get(200, 0) + out["batches"]["created"].get("sample", 0)
        + out["sustained"]["samples_created"]
    )  # fmt: skip
    profiled = Sample.objects.filter(round=rnd, tube__barcode__startswith="PF").count()
    out["written"] = {"samples in the registration round (API)": registered - profiled, "answered created": expected,
                      "in process (profile)": profiled}  # fmt: skip
    connection.close()
    out["serve_log_tail"] = log.read_text(errors="replace")[-2000:]
    return out


def _rows(r: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, Any, Any, Any]]:
    s, h, b, raw, c, p, su = r["single"], r["healthz"], r["batches"], r["raw_inserts"], r["coverage"], r["positive"], r["sustained"]  # fmt: skip
    ip = r["in_process"]
    cr = r["setup"]["coverage_round"]
    n = f"{cr['residents']:,} residents, {cr['samples']:,} sampled"
    rows: list[tuple[str, Any, Any, Any]] = [
        (f"1. single registrations POST /api/v1/nat/registration per second ({args.clients} clients) vs GET /healthz", s["per_second"], h["per_second"], ratio(s["per_second"], h["per_second"])),
        ("   single registration median / p95 ms (vs /healthz)", f"{s['median_ms']} / {s['p95_ms']}", f"{h['median_ms']} / {h['p95_ms']}", ""),
        (f"2. samples per second in batches of {BATCH} (POST /api/v1/nat/registrations) vs raw executemany into nat_sample", b["samples_per_second"], raw["per_second"], ratio(b["samples_per_second"], raw["per_second"])),
        ("   items per second in those batches (open, 10 samples, close)", b["items_per_second"], raw["per_second"], ratio(b["items_per_second"], raw["per_second"])),
        ("   batch of 50 median / p95 ms", f"{b['median_ms']} / {b['p95_ms']}", "", ""),
        (f"   in process: queries per item ({BATCH}-item batch, {ip['batch_ms']} ms)", ip["queries_per_item"], "", ""),
    ]  # fmt: skip
    for scope, label in (("subdistrict", f"3. coverage() whole subdistrict ({n}) median ms"),
                         ("community", f"   coverage() one community ({c['community']}, {c['community totals']['expected']:,} residents) median ms")):  # fmt: skip
        limit = c[f"{scope}: count of residents (limit)"]
        cov = c[f"{scope}: coverage()"]
        mis = c[f"{scope}: missing() first page + count"]
        rows += [
            (label, cov["median_ms"], limit["median_ms"], ratio(cov["median_ms"], limit["median_ms"])),
            (f"   missing() first page + count, {scope}: median ms", mis["median_ms"], limit["median_ms"], ratio(mis["median_ms"], limit["median_ms"])),
        ]  # fmt: skip
    page = c["subdistrict: round page as command"]
    limit = c["subdistrict: count of residents (limit)"]
    rows.append(("   round page /nat/rounds/<id>/ as command: median ms (queries)", f"{page['median_ms']} ({page['queries']:.0f})", limit["median_ms"], ratio(page["median_ms"], limit["median_ms"])))  # fmt: skip
    page = c["community: round page as its staff"]
    limit = c["community: count of residents (limit)"]
    rows.append(("   round page as the community's staff: median ms", page["median_ms"], limit["median_ms"], ratio(page["median_ms"], limit["median_ms"])))  # fmt: skip
    page = c["subdistrict: missing page as command"]
    rows.append(
        ("   missing page /nat/rounds/<id>/missing/ as command: median ms", page["median_ms"], "", "")
    )
    cov, limit = c["compound: coverage()"], c["compound: count of residents (limit)"]
    rows.append((f"   coverage() of a compound round ({r['setup']['compound']['name']}, {c['compound totals']['expected']:,} residents) median ms", cov["median_ms"], limit["median_ms"], ratio(cov["median_ms"], limit["median_ms"])))  # fmt: skip
    rows += [
        (f"4. results batch of {p['tubes']:,} tubes with one positive pool: upload ms", p["upload_ms"], "", ""),
        (f"   until the positive pool's work items exist ({p['work_items']} items, {p['pushed_entries']} pushed entries) ms", p["work_items_seen_ms"], "", ""),
        (f"5. sustained {su['duration_s']}s, {su['phones']} phones: samples per second achieved vs target", su["achieved_per_second"], su["target_per_second"], ratio(su["achieved_per_second"], su["target_per_second"])),
        ("   samples stored vs taken by the phones in the period (1.0 = every one)", su["samples_created"], su.get("samples_offered", ""), ratio(su["samples_created"], su.get("samples_offered", 0))),
        ("   batch latency p50 / p95 / p99 / max ms", f"{su['batch_latency']['median_ms']} / {su['batch_latency']['p95_ms']} / {su['batch_latency']['p99_ms']} / {su['batch_latency']['max_ms']}", "", ""),
        ("   errors (anything not created; must be 0)", su["errors"], 0, ""),
        ("   samples still on the phones after a further period to drain (0 = kept up)", su["backlog_samples"], 0, ""),
        ("errors in 1 + 2 (non-201/200, refused items, connections)", s["errors"] + b["errors"] + h["errors"], 0, ""),
    ]  # fmt: skip
    return rows


def main() -> None:
    args = options(__doc__ or "", **DEFAULTS)  # type: ignore[arg-type]
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--pg-url", default=os.environ.get("JIEDAO_BENCH_PG", PG_DEFAULT))
    more, _unknown = extra.parse_known_args()
    started = time.perf_counter()
    db = f"jiedao_bench_nat_{os.getpid()}"
    # One pair of keys for the run: this process encrypts the register, the server reads it.
    os.environ.update(
        JIEDAO_SECRET_KEY=secrets.token_urlsafe(50),
        JIEDAO_FIELD_KEY=base64.b64encode(os.urandom(32)).decode(),
        DATABASE_URL=f"{more.pg_url}/{db}",
    )
    pg_admin(more.pg_url, f"DROP DATABASE IF EXISTS {db}")
    pg_admin(more.pg_url, f"CREATE DATABASE {db}")
    try:
        result = run(args, more.pg_url, db)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not have started
            pass
        pg_admin(more.pg_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    rows = _rows(result, args)
    for measure_, value, base, r in rows:
        print(f"  {measure_:<110} {value!s:>16} {base!s:>12} {r!s:>8}")
    errors = result["single"]["errors"] + result["batches"]["errors"] + result["sustained"]["errors"]
    write(
        args.result,
        rows,
        params={k: getattr(args, k) for k in DEFAULTS} | {"covered": COVERED, "batch": BATCH, "pool": POOL},
        **{k: v for k, v in result.items() if k != "serve_log_tail"},
        serve_log_tail=result["serve_log_tail"] if errors else "",
        seconds=round(time.perf_counter() - started, 1),
    )
    if errors:
        raise SystemExit(f"{errors} errors in the load tests (see the result file)")


if __name__ == "__main__":
    main()
