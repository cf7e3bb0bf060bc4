"""Control at city-outbreak size: `--cases` people under a measure (default 10,000) with `--checkins`
health check-ins (default 100,000), on SQLite and on PostgreSQL, and check-in submissions per second on
the production server.

The register is the Huayang demo (`build_demo(scale=--persons)`, default 30,000 residents, with its own
~140 control cases). Then, bulk-inserted: `--cases` verified key persons and their cases under the
national protocol — 60 % close contacts (7 days centralised quarantine at one of ten sites, then 3 days
home health monitoring; day 5–10 today, so half of them under the follow-on), 20 % secondary close
contacts and 20 % arrivals from medium-risk areas (7 days home quarantine; day 3–7 today) — and their
check-ins at 08:00 and 16:00 up to
the last one due: ~3 % missed (an empty row flagged missed), ~2 % with fever or symptoms, the rest
normal; older ones dropped at random to leave exactly `--checkins`. The check-in due now is left for the
load test. Every case has a personal check-in link.

Measured on each database (Django test client, in process, `--pages` requests each):
1. the command centre's case ledger `/control/` (first page, default sort by end date) as `command`:
   median, p95 and queries per request; beside it its core queries alone (`cases_visible_to` first 25 by
   end date + `count()`), and the chart's `daily_counts` alone;
2. a doctor's "missed and abnormal check-ins" list (`control:attention`, last 48 h, open cases in the
   doctor's community) as `doctor_<community>` of the community with the most cases; when the page is
   not there (the URL does not resolve) the same queryset (`queries.attention_checkins`), first 25 +
   `count()`, stands in for it. Beside it the queryset alone.

Then, on PostgreSQL only, the production server (`jiedao serve`, waitress, 8 threads, DEBUG off) on the
same database: `--clients` concurrent keep-alive connections POST the self check-in form to the personal
links `/c/<token>` (each POST a different case's check-in due now; 95 % normal, 5 % fever) for
`--seconds` seconds, then GET `/healthz` (one `SELECT 1`, the same stack: the limit) for as long. Rates,
the ratio, and errors (anything but 200, or a check-in not written) — which must be 0.

The SQLite and PostgreSQL parts run in their own processes (`--phase sqlite|postgres`); the PostgreSQL
database is created for the run (`--pg-url`, default postgres://postgres@127.0.0.1:5432) and dropped at the
end. A quick try: `python -m benchmarks control --persons 5000 --cases 1000 --checkins 10000`."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import (
    Load,
    counting_queries,
    free_port,
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

PROTOCOL = "national-9th-edition"
# (category, share, days into the measure today: lowest, highest)
MIX = (
    ("close_contact", 0.6, 5, 10),
    ("secondary_contact", 0.2, 3, 7),
    ("medium_risk_area_arrival", 0.2, 3, 7),
)
MISSED = 0.03
ABNORMAL = 0.02
SITES = 10
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432"
DEFAULTS = dict(persons=30_000, cases=10_000, checkins=100_000, pages=50, clients=8, seconds=20, port=0)


def measure(calls: list[Callable[[], Any]]) -> tuple[dict[str, float], float, list[dict[str, Any]]]:
    """Time each call; (percentiles, queries per call, slowest statements)."""
    samples = []
    with counting_queries() as counter:
        for call in calls:
            seconds, _ = timed(call)
            samples.append(seconds)
    return percentiles(samples), counter.count / len(calls), counter.top(5)


# ---- the data -----------------------------------------------------------------------------------


def build_cases(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """Key persons, cases, sites, check-ins and links, bulk-inserted (see the module docstring)."""
    from django.db import connection, transaction
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from jiedao.control import checkins
    from jiedao.control.actions import current_phase, do_save_site
    from jiedao.control.choices import CaseStatus
    from jiedao.control.models import CheckinLink, ControlCase, HealthCheck
    from jiedao.control.plans import build_plan, plan_end, plan_start
    from jiedao.org.models import User
    from jiedao.registry.models import Resident
    from jiedao.screening.choices import KeyPersonStatus
    from jiedao.screening.models import KeyPerson

    now = timezone.now()
    today = timezone.localdate(now)
    command = User.objects.get(username="command")
    taken = KeyPerson.objects.filter(person=OuterRef("person"))
    residents = list(
        Resident.objects.filter(moved_out__isnull=True)
        .exclude(Exists(taken))
        .order_by("person_id")
        .values_list("person_id", "household_id", "community_id", "grid_id")
        .distinct()
    )
    residents = list({r[0]: r for r in residents}.values())  # one row per person
    if len(residents) < args.cases:
        raise SystemExit(f"only {len(residents):,} residents free for {args.cases:,} cases: raise --persons")
    chosen = rng.sample(residents, args.cases)
    sites = [
        do_save_site(
            actor=command, name=f"集中隔离点{n:02d}", address=f"四川省成都市双流区测试路{n}号", capacity=2000
        )
        for n in range(1, SITES + 1)
    ]
    plans: dict[tuple[str, dt.date], dict[str, Any]] = {}
    kps, cases = [], []
    for person_id, household_id, community_id, grid_id in chosen:
        category, _share, low, high = rng.choices(MIX, weights=[m[1] for m in MIX])[0]
        start = today - dt.timedelta(days=rng.randint(low, high) - 1)
        plan = plans.get((category, start))
        if plan is None:
            plan = plans[(category, start)] = build_plan(PROTOCOL, category, start)
        verified = timezone.make_aware(dt.datetime.combine(start, dt.time(10)))
        scope = {"community_id": community_id, "grid_id": grid_id, "household_id": household_id}
        kps.append(
            KeyPerson(
                person_id=person_id, category=category, protocol_key=PROTOCOL, status=KeyPersonStatus.CLASSIFIED,
                received_at=verified - dt.timedelta(hours=3), due_at=verified + dt.timedelta(hours=9),
                verified_at=verified, classified_category=category, measure_type=plan["phases"][0]["type"],
                measure_start=plan_start(plan), measure_end=plan_end(plan), **scope,
            )
        )  # fmt: skip
        case = ControlCase(
            person_id=person_id, protocol_key=PROTOCOL, category=category, measure_type=plan["phases"][0]["type"],
            status=CaseStatus.ACTIVE, start_date=plan_start(plan), end_date=plan_end(plan), plan=plan,
            created_by=command, updated_by=command, **scope,
        )  # fmt: skip
        if current_phase(case, today) > 0:
            case.status = CaseStatus.MONITORING
        if case.measure_type == "CENTRAL_QUARANTINE":
            case.site = rng.choice(sites)
        cases.append(case)
    with transaction.atomic():
        KeyPerson.objects.bulk_create(kps, batch_size=2000)
        for kp, case in zip(kps, cases, strict=True):
            case.key_person_id = kp.pk
        ControlCase.objects.bulk_create(cases, batch_size=2000)
    # Every scheduled check-in up to the one due now; that one is left for the load test.
    slots: list[tuple[int, dt.datetime]] = []
    for case in cases:
        due = [s for s in checkins.slots(case) if s <= now]
        slots.extend((case.pk, s) for s in due[:-1])
    recent = now - dt.timedelta(hours=48)
    older = [s for s in slots if s[1] < recent]
    keep = len(slots) - args.checkins
    if keep > 0:  # drop older ones at random (a gap from days ago, never flagged) to hit the target
        drop = set(rng.sample(range(len(older)), min(keep, len(older))))
        older = [s for i, s in enumerate(older) if i not in drop]
    slots = older + [s for s in slots if s[1] >= recent]
    rows = []
    counts: Counter[str] = Counter()
    for case_id, slot in slots:
        r = rng.random()
        if r < MISSED:
            rows.append(HealthCheck(case_id=case_id, slot_at=slot, temperature=None, missed=True))
            counts["missed"] += 1
            continue
        abnormal = r < MISSED + ABNORMAL
        counts["abnormal" if abnormal else "normal"] += 1
        temperature = f"{rng.uniform(37.4, 38.6):.1f}" if abnormal else f"{rng.uniform(36.0, 37.1):.1f}"
        rows.append(
            HealthCheck(
                case_id=case_id, slot_at=slot, temperature=temperature, abnormal=abnormal,
                symptoms=["cough"] if abnormal and rng.random() < 0.5 else [], by_self=rng.random() < 0.6,
                created_by=None if rng.random() < 0.6 else command,
            )
        )  # fmt: skip
    insert_s, _ = timed(lambda: HealthCheck.objects.bulk_create(rows, batch_size=5000))
    tokens = []
    links = []
    tz = timezone.get_current_timezone()
    for case in cases:
        token, index = checkins.new_token()
        expires = dt.datetime.combine(case.end_date + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        links.append(CheckinLink(case_id=case.pk, token=token, token_index=index, expires_at=expires))
        tokens.append(token)
    CheckinLink.objects.bulk_create(links, batch_size=2000)
    with connection.cursor() as cur:  # fresh statistics, as after any large load
        cur.execute("ANALYZE")
    return {
        "cases": len(cases),
        "checkins": len(rows),
        "checkins_inserted_s": round(insert_s, 2),
        "missed": counts["missed"],
        "abnormal": counts["abnormal"],
        "tokens": tokens,
        "by_status": dict(Counter(c.status for c in cases)),
        "by_category": dict(Counter(c.category for c in cases)),
    }


# ---- the chart, as one statement ---------------------------------------------------------------


def daily_counts_per_day(queryset: Any, days: int = 14, today: dt.date | None = None) -> dict[str, list[Any]]:
    """The ledger chart as it was before this benchmark: one count per day and series (42 queries),
    "released on day d" through `released_at__date` (a per-row function). Kept as the baseline of
    `control.exports.daily_counts`, which now makes one statement of it."""
    from django.db.models import Q
    from django.utils import timezone

    from jiedao.control.choices import CaseStatus

    today = today or timezone.localdate()
    dates = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    live = queryset.exclude(status=CaseStatus.CANCELLED)
    under, started, released = [], [], []
    for d in dates:
        not_released_yet = Q(released_at__isnull=True) | Q(released_at__date__gt=d)
        under.append(live.filter(not_released_yet, start_date__lte=d, end_date__gte=d).count())
        started.append(live.filter(start_date=d).count())
        released.append(live.filter(status=CaseStatus.RELEASED, released_at__date=d).count())
    return {
        "dates": [d.strftime("%m-%d") for d in dates],
        "under": under,
        "started": started,
        "released": released,
    }


# ---- the pages ---------------------------------------------------------------------------------


def pages(args: argparse.Namespace) -> dict[str, Any]:
    from django.db.models import Count
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from jiedao.control.exports import daily_counts
    from jiedao.control.models import ControlCase
    from jiedao.control.queries import attention_checkins, cases_visible_to
    from jiedao.org.models import Community, User

    out: dict[str, Any] = {}
    command = User.objects.get(username="command")

    def fresh(user: Any) -> Any:
        return User.objects.get(pk=user.pk)  # as a request loads it

    def ledger_core() -> None:
        qs = cases_visible_to(fresh(command)).order_by("end_date", "pk")
        list(qs[:25])
        qs.count()

    def chart() -> None:
        daily_counts(cases_visible_to(fresh(command)))

    def chart_one_query() -> None:
        daily_counts_per_day(cases_visible_to(fresh(command)))

    same = daily_counts(cases_visible_to(command)) == daily_counts_per_day(cases_visible_to(command))
    out["chart one query gives the same counts"] = same  # as the per-day baseline

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(command)
    url = reverse("control:cases")

    def ledger_page() -> None:
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    for call in (ledger_core, chart, chart_one_query, ledger_page):
        call()  # warm
    out["ledger core"] = measure([ledger_core] * args.pages)
    out["ledger chart"] = measure([chart] * args.pages)
    out["ledger chart, one query"] = measure([chart_one_query] * args.pages)
    out["ledger page"] = measure([ledger_page] * args.pages)
    for label in ("ledger core", "ledger chart", "ledger chart, one query", "ledger page"):
        say(f"{label}: {out[label][0]}, {out[label][1]:.1f} queries")

    busiest = (
        ControlCase.objects.values("community_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("community_id", flat=True)[0]
    )
    community = Community.objects.get(pk=busiest)
    doctor = User.objects.filter(
        assignments__role="doctor", assignments__community=community, assignments__level="community"
    ).order_by("username")[0]
    out["doctor"] = doctor.username

    def attention_core() -> None:
        qs = attention_checkins(fresh(doctor)).order_by("-slot_at", "-pk")
        list(qs[:25])
        qs.count()

    attention_core()
    out["attention core"] = measure([attention_core] * args.pages)
    out["attention rows"] = attention_checkins(doctor).count()
    try:
        attention_url = reverse("control:attention")
    except NoReverseMatch:
        attention_url = ""
    out["attention url"] = attention_url
    if attention_url:
        doctor_client = Client(HTTP_HOST="127.0.0.1")
        doctor_client.force_login(doctor)

        def attention_page() -> None:
            response = doctor_client.get(attention_url)
            assert response.status_code == 200, response.status_code

        attention_page()
        out["attention page"] = measure([attention_page] * args.pages)
    say(
        f"attention as {doctor.username} ({out['attention rows']:,} rows in 48 h): core {out['attention core'][0]}"
    )
    if attention_url:
        say(
            f"attention page {attention_url}: {out['attention page'][0]}, {out['attention page'][1]:.1f} queries"
        )
    return out


IN_PROCESS_CHECKINS = 30


def self_checkins(tokens: list[str]) -> tuple[dict[str, float], float, list[dict[str, Any]]]:
    """The self check-in POST through the Django test client, in process: time and queries per check-in
    (what the load test's server does for each request, without the HTTP server)."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")

    def post(token: str) -> Callable[[], None]:
        def call() -> None:
            response = client.post(f"/c/{token}", {"temperature": "36.6"})
            assert response.status_code == 200 and b'data-testid="checkin-done"' in response.content, token[
                :6
            ]

        return call

    stats = measure([post(t) for t in tokens])
    say(f"self check-in in process: {stats[0]}, {stats[1]:.1f} queries")
    return stats


def phase(db: str, args: argparse.Namespace) -> None:
    """One database: build, insert, measure pages; write the part result (and the tokens)."""
    setup_django()
    from django.db import connection

    from jiedao.demo.build import build_demo

    build_s, _summary = timed(lambda: build_demo(scale=args.persons, seed=2022))
    say(f"{db}: demo register of {args.persons:,} built in {build_s:.0f}s")
    data_s, data = timed(lambda: build_cases(args, random.Random(11)))
    say(
        f"{db}: {data['cases']:,} cases, {data['checkins']:,} check-ins ({data['missed']:,} missed, "
        f"{data['abnormal']:,} abnormal) in {data_s:.0f}s"
    )
    tokens = data.pop("tokens")
    result = {"db": db, "vendor": connection.vendor, "build_s": round(build_s, 1), "data_s": round(data_s, 1),
              "data": data, "pages": pages(args)}  # fmt: skip
    used = min(IN_PROCESS_CHECKINS, len(tokens) // 2)
    result["pages"]["self check-in"] = self_checkins(tokens[:used])
    tokens = tokens[used:]  # their check-in due now is taken
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            result["server_version"] = cur.fetchone()[0]
    Path(args.result).write_text(json.dumps(result, default=str, ensure_ascii=False))
    Path(args.result).with_suffix(".tokens").write_text("\n".join(tokens))


# ---- the server ---------------------------------------------------------------------------------


def _csrf(conn: http.client.HTTPConnection, path: str) -> tuple[str, str]:
    """The CSRF cookie and form token a person's phone gets when it opens the link."""
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read().decode()
    cookie = ""
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith("csrftoken="):
            cookie = value.split(";", 1)[0]
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if response.status != 200 or not cookie or not match:
        raise SystemExit(f"the check-in page {path[:8]}… gave {response.status} without a CSRF token")
    return cookie, match.group(1)


def server(args: argparse.Namespace, env: dict[str, str], tokens: list[str], log: Path) -> dict[str, Any]:
    """Start `jiedao serve` on the PostgreSQL database, load it, stop it."""
    from urllib.parse import urlencode

    port = args.port or free_port()
    server_env = {k: v for k, v in env.items() if k != "JIEDAO_DEBUG"}
    server_env.update(JIEDAO_LOG_LEVEL="WARNING")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jiedao.cli", "serve", "--no-migrate", "--port", str(port), "--threads", "8"],
            env=server_env, cwd=Path(__file__).parent.parent, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_ready(port, proc)
        rng = random.Random(5)
        supply = iter(tokens)
        supply_lock = threading.Lock()
        posted: list[str] = []

        def next_token() -> str | None:
            with supply_lock:
                token = next(supply, None)
                if token is not None:
                    posted.append(token)
                return token

        def checkins(conn: http.client.HTTPConnection) -> Iterator[Callable[[], int]]:
            first = next_token()
            if first is None:
                return
            cookie, csrf = _csrf(conn, f"/c/{first}")
            token: str | None = first
            while token is not None:
                current: str = token
                fever = rng.random() < 0.05
                body = urlencode(
                    {
                        "csrfmiddlewaretoken": csrf,
                        "temperature": "38.1" if fever else f"{rng.uniform(36.0, 37.1):.1f}",
                    }
                )

                def send(token: str = current, body: str = body) -> int:
                    conn.request(
                        "POST", f"/c/{token}", body=body,
                        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
                    )  # fmt: skip
                    response = conn.getresponse()
                    page = response.read()
                    if response.status == 200 and b'data-testid="checkin-done"' not in page:
                        return 299  # 200 but not recorded: an error too
                    return response.status

                yield send
                token = next_token()

        def healthz(conn: http.client.HTTPConnection) -> Iterator[Callable[[], int]]:
            def send() -> int:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                return response.status

            while True:
                yield send

        warm = Load(port, args.clients, 3)
        warm.run(healthz)
        posts = Load(port, args.clients, args.seconds).run(checkins)
        say(
            f"server: {posts['per_second']} check-ins/s ({posts['requests']:,} in {posts['seconds']}s, errors {posts['errors']})"
        )
        limit = Load(port, args.clients, args.seconds).run(healthz)
        say(
            f"server: /healthz {limit['per_second']} requests/s ({limit['requests']:,}, errors {limit['errors']})"
        )
        return {
            "port": port,
            "clients": args.clients,
            "checkins": posts,
            "healthz": limit,
            "posted": len(posted),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def count_written(since: str) -> None:
    """Self check-ins written since `since` (ISO time), printed: read in a fresh process after the load."""
    setup_django()
    from jiedao.control.models import HealthCheck

    print(HealthCheck.objects.filter(by_self=True, created_at__gte=dt.datetime.fromisoformat(since)).count())


def _count_written(env: dict[str, str], since: dt.datetime) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_control", "-", "--phase=count", f"--since={since.isoformat()}"],
        env=env, capture_output=True, text=True, cwd=Path(__file__).parent.parent, check=True,
    )  # fmt: skip
    return int(proc.stdout.strip().splitlines()[-1])


# ---- the run ------------------------------------------------------------------------------------


def _run_phase(db: str, env: dict[str, str], part: Path, argv: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_control", str(part), f"--phase={db}", *argv],
        env=env, cwd=Path(__file__).parent.parent, check=True,
    )  # fmt: skip
    result = json.loads(part.read_text())
    result["phase_s"] = round(time.perf_counter() - started, 1)
    return result


def _rows(label: str, part: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    p = part["pages"]
    core, core_q, _ = p["ledger core"]
    page, page_q, _ = p["ledger page"]
    chart, chart_q, _ = p["ledger chart"]
    one, _one_q, _ = p["ledger chart, one query"]
    att_core, att_core_q, _ = p["attention core"]
    n = f"{part['data']['cases']:,} cases"
    post, post_q, _ = p["self check-in"]
    rows: list[tuple[str, Any, Any, Any]] = [
        (f"{label}: /control/ as command ({n}): median ms", page["median_ms"], core["median_ms"], ratio(page["median_ms"], core["median_ms"])),
        (f"{label}: /control/ p95 ms", page["p95_ms"], core["p95_ms"], ratio(page["p95_ms"], core["p95_ms"])),
        (f"{label}: /control/ queries", page_q, core_q, ratio(page_q, core_q)),
        (f"{label}: /control/ chart (daily_counts) alone: median ms", chart["median_ms"], "", ""),
        (f"{label}: /control/ chart queries", chart_q, "", ""),
        (f"{label}: the chart as one query, vs the per-day baseline (same counts: {p['chart one query gives the same counts']}): median ms", chart["median_ms"], one["median_ms"], ratio(chart["median_ms"], one["median_ms"])),
    ]  # fmt: skip
    who = p["doctor"]
    if p.get("attention page"):
        att, att_q, _ = p["attention page"]
        rows += [
            (f"{label}: {p['attention url']} as {who} ({p['attention rows']:,} rows in 48 h): median ms", att["median_ms"], att_core["median_ms"], ratio(att["median_ms"], att_core["median_ms"])),
            (f"{label}: attention page p95 ms", att["p95_ms"], att_core["p95_ms"], ratio(att["p95_ms"], att_core["p95_ms"])),
            (f"{label}: attention page queries", att_q, att_core_q, ratio(att_q, att_core_q)),
        ]  # fmt: skip
    else:
        rows += [
            (f"{label}: attention queryset as {who} (page not there yet): median ms", att_core["median_ms"], "", ""),
            (f"{label}: attention queryset p95 ms", att_core["p95_ms"], "", ""),
            (f"{label}: attention queryset queries", att_core_q, "", ""),
        ]  # fmt: skip
    rows += [
        (f"{label}: self check-in POST /c/<token>, in process (test client): median ms", post["median_ms"], "", ""),
        (f"{label}: self check-in p95 ms", post["p95_ms"], "", ""),
        (f"{label}: self check-in queries", post_q, "", ""),
    ]  # fmt: skip
    return rows


def main() -> None:
    args = options(__doc__ or "", **DEFAULTS)  # type: ignore[arg-type]
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--phase", choices=("sqlite", "postgres", "count"))
    extra.add_argument("--since", default="")
    extra.add_argument("--pg-url", default=os.environ.get("JIEDAO_BENCH_PG", PG_DEFAULT))
    more, _unknown = extra.parse_known_args()
    if more.phase == "count":
        count_written(more.since)
        return
    if more.phase:
        phase(more.phase, args)
        return
    started = time.perf_counter()
    argv = [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in DEFAULTS]
    var = Path(os.environ.get("JIEDAO_VAR_DIR") or ".")
    # One pair of keys for the run: the PostgreSQL phase encrypts the links' tokens, the server reads them.
    keys = {
        "JIEDAO_SECRET_KEY": secrets.token_urlsafe(50),
        "JIEDAO_FIELD_KEY": base64.b64encode(os.urandom(32)).decode(),
    }
    base_env = {**os.environ, "JIEDAO_DEBUG": "1", **keys}
    base_env.pop("DATABASE_URL", None)
    sqlite_env = {**base_env, "JIEDAO_VAR_DIR": str(var / "sqlite")}
    say("SQLite …")
    sqlite = _run_phase("sqlite", sqlite_env, var / "sqlite.json", argv)
    db = f"jiedao_bench_control_{os.getpid()}"
    pg_env = {**base_env, "JIEDAO_VAR_DIR": str(var / "pg"), "DATABASE_URL": f"{more.pg_url}/{db}"}
    pg_admin(more.pg_url, f"DROP DATABASE IF EXISTS {db}")
    pg_admin(more.pg_url, f"CREATE DATABASE {db}")
    try:
        say(f"PostgreSQL ({db}) …")
        pg = _run_phase("postgres", pg_env, var / "pg.json", argv)
        tokens = (var / "pg.tokens").read_text().split()
        load_began = dt.datetime.now(dt.UTC)
        srv = server(args, pg_env, tokens, var / "serve.log")
        written = _count_written(pg_env, load_began)
    finally:
        pg_admin(more.pg_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    posts, limit = srv["checkins"], srv["healthz"]
    not_written = max(0, posts["statuses"].get(200, 0) - written)
    errors = posts["errors"] + limit["errors"] + not_written
    rows = _rows("SQLite", sqlite) + _rows("PostgreSQL", pg)
    rows += [
        (f"PostgreSQL, jiedao serve: self check-ins POST /c/<token> per second ({args.clients} clients)", posts["per_second"], limit["per_second"], ratio(posts["per_second"], limit["per_second"])),
        ("self check-ins: median / p95 ms", f"{posts['median_ms']} / {posts['p95_ms']}", f"{limit['median_ms']} / {limit['p95_ms']}", ""),
        ("limit: GET /healthz per second (same server, same clients)", limit["per_second"], "", ""),
        ("errors (non-200, not recorded, connection)", errors, 0, ""),
    ]  # fmt: skip
    serve_log = (var / "serve.log").read_text(errors="replace")[-2000:] if errors else ""
    for measure_, value, base, r in rows:
        print(f"  {measure_:<90} {value!s:>14} {base!s:>14} {r!s:>8}")
    write(
        args.result,
        rows,
        params={k: getattr(args, k) for k in DEFAULTS} | {"mix": MIX, "missed": MISSED, "abnormal": ABNORMAL},
        sqlite={k: v for k, v in sqlite.items() if k != "pages"},
        postgres={k: v for k, v in pg.items() if k != "pages"},
        server=srv | {"checkins_written": written, "errors": errors},
        slowest_sql={
            f"{db_label} {label}": part["pages"][label][2]
            for db_label, part in (("SQLite", sqlite), ("PostgreSQL", pg))
            for label in ("ledger page", "ledger chart", "attention core", "attention page", "self check-in")
            if label in part["pages"]
        },
        serve_log_tail=serve_log,
        seconds=round(time.perf_counter() - started, 1),
    )
    if errors:
        raise SystemExit(f"{errors} errors in the load test (see the result's server and serve_log_tail)")


if __name__ == "__main__":
    main()
