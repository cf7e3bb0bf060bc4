"""Door sensors: events per second through broker → bridge → database, against `mosquitto_pub` →
`mosquitto_sub` on the same broker as the limit, and the alert latency from publish to alert row with
`--devices` sensors bound (default 5,000), on SQLite and on PostgreSQL.

The broker is a Mosquitto of the run's own on a free 127.0.0.1 port (`persistence false`,
`max_queued_messages 0`: nothing dropped; otherwise Mosquitto's defaults, among them 20 QoS 1 messages
in flight to each client), so that other users of the machine's broker neither slow it nor send it
traffic. Everything is QoS 1.

The register is the Huayang demo (`build_demo(scale=--persons)`, default 20,000 residents); then,
bulk-inserted, `--devices` home-quarantine cases on as many households, each with a registered door
sensor on its door (bound an hour ago). The bridge runs in its own process, as `jiedao mqtt-bridge`
does (the same `Bridge` class; `--phase bridge` of this script), and the benchmark publishes from its
own process with paho (QoS 1, 20 in flight, like `mosquitto_pub`).

1. **The limit**, once: `mosquitto_pub -q 1 -l` sends `--events` messages (default 20,000, one line
   each) to `mosquitto_sub -q 1 -C <events>` on the same broker: from the publisher's start to the
   subscriber's exit. Beside it the same count from the benchmark's paho publisher (one topic per
   sensor, as the bridge gets them) to `mosquitto_sub`: the limit for this publisher.
2. **Throughput**, per database: the bridge connected and idle, the publisher sends `--events`
   heartbeats round-robin over the sensors (4 each by default, so no sensor comes near the flood
   limit); from the first publish until the database holds every event (polled every 20 ms). (The first
   run of this benchmark found each batch waiting the whole 0.1 s for more messages that Mosquitto, with
   20 in flight, never sends; the bridge now takes what is in its inbox and goes.)
3. **Alert latency**, per database: while every sensor
   sends a heartbeat every `--heartbeat` seconds (default 60: 83 a second for 5,000), `--alerts`
   openings (default 300, `--door-rate` a second, default 10; after 10 not counted, to warm up) each from
   a different sensor, outside any allowed time; latency = the alert row's `raised_at` (set when the row is written, in the bridge's
   transaction) minus the moment before the opening was published. p50, p99, max.
4. **Errors**: events published but not stored, stored twice, refused, alerts missing, bridge errors —
   all must be 0.

The SQLite and PostgreSQL parts run in their own processes (`--phase sqlite|postgres`); the PostgreSQL
database is created for the run (`--pg-url`, default postgres://postgres@127.0.0.1:5432) and dropped at
the end. About 5 minutes. A quick try: `python -m benchmarks sensors --persons 5000 --devices 500
--events 4000 --alerts 50`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import free_port, options, pg_admin, ratio, say, setup_django, write

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432"
DEFAULTS = dict(persons=20_000, devices=5_000, events=20_000, alerts=300, heartbeat=60, door_rate=10)
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
ROOT = Path(__file__).parent.parent
VARIANTS = ("jiedao mqtt-bridge",)  # one bridge; the batching it proposed first is now the bridge's own
WARM_UP = 10  # openings before the measured ones
BROKER_CONFIG = "persistence false, max_queued_messages 0, defaults otherwise (max_inflight_messages 20)"


# ---- the broker ---------------------------------------------------------------------------------


class Broker:
    """A Mosquitto of the run's own (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        self.conf = root / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n"
            f"log_dest file {root / 'mosquitto.log'}\nlog_type error\nlog_type warning\n"
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Broker:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise SystemExit("mosquitto did not start")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    def version(self) -> str:
        out = subprocess.run([MOSQUITTO, "-h"], capture_output=True, text=True)
        return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else ""


# ---- the limit ----------------------------------------------------------------------------------


def limit(url: str, n: int, devices: int) -> dict[str, Any]:
    """mosquitto_pub → mosquitto_sub, and the benchmark's paho publisher → mosquitto_sub."""
    port = url.rsplit(":", 1)[1]
    payload = json.dumps(
        {"seq": 1, "type": "heartbeat", "at": "2026-01-01T00:00:00+08:00", "battery": 90, "rssi": -60}
    )

    def sub() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", port, "-q", "1", "-t", "jiedao/sensors/+/events", "-C", str(n),
             "-i", f"limit-sub-{os.getpid()}"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)  # subscribed
        return proc

    out: dict[str, Any] = {}
    receiver = sub()
    lines = ("\n".join([payload] * n) + "\n").encode()
    started = time.perf_counter()
    subprocess.run(
        [MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", port, "-q", "1", "-l", "-t", "jiedao/sensors/LIMIT-1/events"],
        input=lines, check=True,
    )  # fmt: skip
    receiver.wait(120)
    took = time.perf_counter() - started
    out["mosquitto_pub"] = {"messages": n, "seconds": round(took, 3), "per_second": round(n / took, 1)}
    say(f"limit: mosquitto_pub → mosquitto_sub {n:,} in {took:.2f}s = {n / took:,.0f}/s")
    receiver = sub()
    pub = Publisher(url)
    started = time.perf_counter()
    for k in range(n):
        pub.publish(f"jiedao/sensors/LIMIT-{k % devices}/events", payload.encode())
    pub.wait()
    receiver.wait(120)
    took = time.perf_counter() - started
    pub.close()
    out["paho"] = {"messages": n, "seconds": round(took, 3), "per_second": round(n / took, 1)}
    say(
        f"limit: paho publisher ({devices:,} topics) → mosquitto_sub {n:,} in {took:.2f}s = {n / took:,.0f}/s"
    )
    return out


class Publisher:
    """paho, QoS 1, 20 in flight (paho's and mosquitto_pub's default)."""

    def __init__(self, url: str) -> None:
        import paho.mqtt.client as mqtt

        port = int(url.rsplit(":", 1)[1])
        self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"bench-pub-{os.getpid()}-{random.randrange(10**6)}",
        )
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.pending: list[Any] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.pending.append(self.client.publish(topic, payload, qos=1))

    def wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for info in self.pending:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        self.pending = []

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# ---- the data -----------------------------------------------------------------------------------


def build(args: argparse.Namespace) -> list[str]:
    """`--devices` home-quarantine cases with a sensor on the door, bulk-inserted; their device IDs."""
    from django.db import connection, transaction
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from jiedao.control.choices import CaseStatus
    from jiedao.control.models import ControlCase
    from jiedao.control.plans import build_plan, plan_end, plan_start
    from jiedao.org.models import User
    from jiedao.registry.models import Resident
    from jiedao.screening.choices import KeyPersonStatus
    from jiedao.screening.models import KeyPerson
    from jiedao.sensors.choices import DeviceStatus
    from jiedao.sensors.models import Binding, DoorSensor, Vendor

    rng = random.Random(6)
    now = timezone.now()
    today = timezone.localdate(now)
    command = User.objects.get(username="command")
    taken = KeyPerson.objects.filter(person=OuterRef("person"))
    rows = list(
        Resident.objects.filter(moved_out__isnull=True)
        .exclude(Exists(taken))
        .order_by("household_id", "person_id")
        .values_list("person_id", "household_id", "community_id", "grid_id")
    )
    one_per_home = list({r[1]: r for r in rows}.values())
    if len(one_per_home) < args.devices:
        raise SystemExit(
            f"only {len(one_per_home):,} free households for {args.devices:,} sensors: raise --persons"
        )
    chosen = rng.sample(one_per_home, args.devices)
    plan = build_plan("national-9th-edition", "secondary_contact", today - dt.timedelta(days=2))
    verified = now - dt.timedelta(days=2)
    kps, cases = [], []
    for person_id, household_id, community_id, grid_id in chosen:
        scope = {"community_id": community_id, "grid_id": grid_id, "household_id": household_id}
        kps.append(
            KeyPerson(
                person_id=person_id, category="secondary_contact", protocol_key="national-9th-edition",
                status=KeyPersonStatus.CLASSIFIED, received_at=verified - dt.timedelta(hours=3),
                due_at=verified + dt.timedelta(hours=9), verified_at=verified, classified_category="secondary_contact",
                measure_type=plan["phases"][0]["type"], measure_start=plan_start(plan), measure_end=plan_end(plan),
                **scope,
            )
        )  # fmt: skip
        cases.append(
            ControlCase(
                person_id=person_id, protocol_key="national-9th-edition", category="secondary_contact",
                measure_type=plan["phases"][0]["type"], status=CaseStatus.ACTIVE, start_date=plan_start(plan),
                end_date=plan_end(plan), plan=plan, created_by=command, updated_by=command, **scope,
            )
        )  # fmt: skip
    vendor, _new = Vendor.objects.get_or_create(name="蜀安物联")  # the demo may have made it
    ids = [f"BS-{k:05d}" for k in range(1, args.devices + 1)]
    with transaction.atomic():
        KeyPerson.objects.bulk_create(kps, batch_size=2000)
        for kp, case in zip(kps, cases, strict=True):
            case.key_person_id = kp.pk
        ControlCase.objects.bulk_create(cases, batch_size=2000)
        devices = DoorSensor.objects.bulk_create(
            [DoorSensor(device_id=d, vendor=vendor, model="SA-MC21", secret=f"bench-secret-{d}-xxxxxxxx",
                        status=DeviceStatus.BOUND) for d in ids],
            batch_size=2000,
        )  # fmt: skip
        Binding.objects.bulk_create(
            [Binding(device=dev, household_id=home[1], case=c, community_id=c.community_id, grid_id=c.grid_id,
                     starts_at=now - dt.timedelta(hours=1)) for dev, c, home in zip(devices, cases, chosen, strict=True)],
            batch_size=2000,
        )  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return ids


# ---- the bridge in its own process ----------------------------------------------------------------


def run_bridge(more: argparse.Namespace) -> None:
    """`--phase bridge`: what `jiedao mqtt-bridge` runs, until SIGTERM; then its
    counters into `--stats`."""
    import logging

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiedao.config.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from jiedao.sensors.bridge import Bridge

    bridge = Bridge(more.url, client_id=more.client_id)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())
    bridge.start()
    if not bridge.connected.wait(20):
        raise SystemExit("the bridge did not connect")
    time.sleep(0.3)
    print("ready", flush=True)
    stop.wait()
    bridge.stop()
    s = bridge.stats
    Path(more.stats).write_text(json.dumps({
        "messages": s.messages, "applied": s.applied, "duplicates": s.duplicates, "rejected": s.rejected,
        "alerts": s.alerts, "batches": s.batches, "connects": s.connects, "errors": s.errors[:10],
    }))  # fmt: skip


class BridgeProcess:
    def __init__(self, url: str, variant: str, stats: Path) -> None:
        self.stats = stats
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_sensors", "-", "--phase=bridge", f"--url={url}",
             f"--variant={variant}", f"--client-id=bench-bridge-{os.getpid()}", f"--stats={stats}"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise SystemExit(f"the bridge process did not start: {line!r}")

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        return dict(json.loads(self.stats.read_text()))


# ---- the measures -------------------------------------------------------------------------------


class Seqs:
    """The next sequence number of each sensor, across the whole run."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def next(self, device: str) -> int:
        self.last[device] = self.last.get(device, 0) + 1
        return self.last[device]


def _payload(seq: int, kind: str) -> bytes:
    from django.utils import timezone

    at = timezone.localtime().isoformat(timespec="milliseconds")
    return json.dumps({"seq": seq, "type": kind, "at": at, "battery": 87, "rssi": -66}).encode()


def throughput(url: str, ids: list[str], seqs: Seqs, n: int, variant: str, tmp: Path) -> dict[str, Any]:
    from jiedao.sensors.models import SensorEvent

    base = SensorEvent.objects.count()
    bridge = BridgeProcess(url, variant, tmp / "bridge.json")
    pub = Publisher(url)
    messages = []
    for k in range(n):
        device = ids[k % len(ids)]
        messages.append((f"jiedao/sensors/{device}/events", _payload(seqs.next(device), "heartbeat")))
    started = time.perf_counter()
    for topic, body in messages:
        pub.publish(topic, body)
    published = time.perf_counter() - started
    deadline = time.monotonic() + 600
    stored = 0
    while time.monotonic() < deadline:
        stored = SensorEvent.objects.count() - base
        if stored >= n:
            break
        time.sleep(0.02)
    took = time.perf_counter() - started
    pub.wait()
    pub.close()
    time.sleep(0.3)
    stats = bridge.stop()
    stored = SensorEvent.objects.count() - base
    errors = (n - stored) + stats["duplicates"] + stats["rejected"] + len(stats["errors"])
    out = {
        "variant": variant, "events": n, "stored": stored, "seconds": round(took, 3), "per_second": round(n / took, 1),
        "publish_seconds": round(published, 3), "bridge": stats, "errors": errors,
    }  # fmt: skip
    say(
        f"{variant}: {n:,} events stored in {took:.2f}s = {n / took:,.0f}/s ({stats['batches']:,} batches), errors {errors}"
    )
    return out


def latency(args: argparse.Namespace, url: str, ids: list[str], seqs: Seqs, variant: str, tmp: Path,
            used: set[str]) -> dict[str, Any]:  # fmt: skip
    from django.utils import timezone

    from jiedao.sensors.models import SensorAlert, SensorEvent

    base_events = SensorEvent.objects.count()
    base_alerts = SensorAlert.objects.count()
    bridge = BridgeProcess(url, variant, tmp / "bridge.json")
    pub = Publisher(url)
    lock = threading.Lock()
    stop = threading.Event()
    sent = {"heartbeats": 0}

    def heartbeats() -> None:
        """Every sensor once per `--heartbeat` seconds, spread evenly."""
        gap = args.heartbeat / len(ids)
        k = 0
        t = time.perf_counter()
        while not stop.is_set():
            device = ids[k % len(ids)]
            with lock:
                pub.publish(f"jiedao/sensors/{device}/events", _payload(seqs.next(device), "heartbeat"))
            sent["heartbeats"] += 1
            k += 1
            t += gap
            pause = t - time.perf_counter()
            if pause > 0:
                time.sleep(pause)

    background = threading.Thread(target=heartbeats, daemon=True)
    background.start()
    time.sleep(2)  # the background load is running
    fresh = [d for d in ids if d not in used]
    picked = random.Random(len(used)).sample(fresh, args.alerts + WARM_UP)
    used.update(picked)
    warm, doors = picked[:WARM_UP], picked[WARM_UP:]
    published: dict[tuple[str, int], float] = {}
    gap = 1 / args.door_rate
    for device in warm:  # the first alerts warm the bridge's queries up; they are not counted
        with lock:
            pub.publish(f"jiedao/sensors/{device}/events", _payload(seqs.next(device), "door_open"))
        time.sleep(gap)
    t = time.perf_counter()
    for device in doors:
        seq = seqs.next(device)
        body = _payload(seq, "door_open")
        with lock:
            published[(device, seq)] = time.time()
            pub.publish(f"jiedao/sensors/{device}/events", body)
        t += gap
        pause = t - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and SensorAlert.objects.count() - base_alerts < args.alerts + WARM_UP:
        time.sleep(0.05)
    stop.set()
    background.join(5)
    pub.wait()
    pub.close()
    time.sleep(1.0)
    stats = bridge.stop()
    rows = SensorAlert.objects.filter(event__device__device_id__in=doors).values_list(
        "event__device__device_id", "event__seq", "raised_at"
    )
    lat = sorted(
        (raised.timestamp() - published[(d, s)]) * 1000 for d, s, raised in rows if (d, s) in published
    )
    stored = SensorEvent.objects.count() - base_events
    expected = sent["heartbeats"] + args.alerts + WARM_UP
    missing_alerts = args.alerts - len(lat)
    errors = (
        (expected - stored) + missing_alerts + stats["duplicates"] + stats["rejected"] + len(stats["errors"])
    )

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, round(p * (len(lat) - 1)))], 1) if lat else -1.0

    out = {
        "variant": variant, "alerts": len(lat), "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": round(lat[-1], 1) if lat else -1,
        "heartbeats": sent["heartbeats"], "heartbeats_per_second": round(len(ids) / args.heartbeat, 1),
        "stored": stored, "expected": expected, "bridge": stats, "errors": errors,
        "at": timezone.now().isoformat(),
    }  # fmt: skip
    say(f"{variant}: alert latency p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, max {out['max_ms']} ms "
        f"over {len(lat)} alerts with {out['heartbeats_per_second']}/s heartbeats; errors {errors}")  # fmt: skip
    return out


def phase(db: str, args: argparse.Namespace, url: str) -> None:
    setup_django()
    from django.db import connection

    from jiedao.demo.build import build_demo

    started = time.perf_counter()
    build_demo(scale=args.persons, seed=2022)
    ids = build(args)
    build_s = time.perf_counter() - started
    say(f"{db}: demo register of {args.persons:,} and {len(ids):,} sensors on doors in {build_s:.0f}s")
    seqs = Seqs()
    used: set[str] = set()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        result: dict[str, Any] = {"db": db, "vendor": connection.vendor, "build_s": round(build_s, 1)}
        result["throughput"] = [throughput(url, ids, seqs, args.events, v, tmp) for v in VARIANTS]
        result["latency"] = [latency(args, url, ids, seqs, v, tmp, used) for v in VARIANTS]
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            result["server_version"] = cur.fetchone()[0]
    Path(args.result).write_text(json.dumps(result, default=str, ensure_ascii=False))


# ---- the run ------------------------------------------------------------------------------------


def _run_phase(db: str, env: dict[str, str], part: Path, argv: list[str], url: str) -> dict[str, Any]:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_sensors", str(part), f"--phase={db}", f"--url={url}", *argv],
        env=env, cwd=ROOT, check=True,
    )  # fmt: skip
    result = dict(json.loads(part.read_text()))
    result["phase_s"] = round(time.perf_counter() - started, 1)
    return result


def _rows(label: str, part: dict[str, Any], lim: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    rows: list[tuple[str, Any, Any, Any]] = []
    pub_limit = lim["mosquitto_pub"]["per_second"]
    paho_limit = lim["paho"]["per_second"]
    for t in part["throughput"]:
        rows.append((f"{label}: events/s broker → bridge → database, bridge {t['variant']} ({t['events']:,} events)",
                     t["per_second"], pub_limit, ratio(t["per_second"], pub_limit)))  # fmt: skip
        rows.append((f"{label}: the same against the paho publisher → mosquitto_sub ({t['variant']})",
                     t["per_second"], paho_limit, ratio(t["per_second"], paho_limit)))  # fmt: skip
    for lt in part["latency"]:
        rows.append((f"{label}: alert latency publish → alert row, p50 / p99 / max ms, bridge {lt['variant']} "
                     f"({lt['alerts']} alerts, {lt['heartbeats_per_second']}/s heartbeats)",
                     f"{lt['p50_ms']} / {lt['p99_ms']} / {lt['max_ms']}", "", ""))  # fmt: skip
    errors = sum(t["errors"] for t in part["throughput"]) + sum(lt["errors"] for lt in part["latency"])
    rows.append(
        (f"{label}: errors (not stored, duplicates, refused, alerts missing, bridge errors)", errors, 0, "")
    )
    return rows


def main() -> None:
    args = options(__doc__ or "", **DEFAULTS)  # type: ignore[arg-type]
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--phase", choices=("sqlite", "postgres", "bridge"))
    extra.add_argument("--url", default="")
    extra.add_argument("--variant", default=VARIANTS[0])
    extra.add_argument("--client-id", default="bench-bridge")
    extra.add_argument("--stats", default="")
    extra.add_argument("--pg-url", default=os.environ.get("JIEDAO_BENCH_PG", PG_DEFAULT))
    more, _unknown = extra.parse_known_args()
    if more.phase == "bridge":
        run_bridge(more)
        return
    if more.phase:
        phase(more.phase, args, more.url)
        return
    started = time.perf_counter()
    argv = [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in DEFAULTS]
    var = Path(os.environ.get("JIEDAO_VAR_DIR") or tempfile.mkdtemp(prefix="jiedao-bench-sensors-"))
    base_env = {**os.environ, "JIEDAO_DEBUG": "1", "JIEDAO_LOG_LEVEL": "WARNING"}
    base_env.pop("DATABASE_URL", None)
    with Broker(var / "broker") as broker:
        say(f"broker: {broker.version()} at {broker.url}")
        lim = limit(broker.url, args.events, args.devices)
        say("SQLite …")
        sqlite = _run_phase("sqlite", {**base_env, "JIEDAO_VAR_DIR": str(var / "sqlite")}, var / "sqlite.json", argv,
                            broker.url)  # fmt: skip
        db = f"jiedao_bench_sensors_{os.getpid()}"
        pg_env = {**base_env, "JIEDAO_VAR_DIR": str(var / "pg"), "DATABASE_URL": f"{more.pg_url}/{db}"}
        pg_admin(more.pg_url, f"DROP DATABASE IF EXISTS {db}")
        pg_admin(more.pg_url, f"CREATE DATABASE {db}")
        try:
            say(f"PostgreSQL ({db}) …")
            pg = _run_phase("postgres", pg_env, var / "pg.json", argv, broker.url)
        finally:
            pg_admin(more.pg_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        version = broker.version()
    rows = [
        (f"limit: mosquitto_pub → mosquitto_sub, {args.events:,} messages QoS 1: per second",
         lim["mosquitto_pub"]["per_second"], "", ""),
        (f"limit: paho publisher ({args.devices:,} topics) → mosquitto_sub: per second", lim["paho"]["per_second"], "", ""),
    ]  # fmt: skip
    rows += _rows("SQLite", sqlite, lim) + _rows("PostgreSQL", pg, lim)
    errors = sum(r[1] for r in rows if str(r[0]).endswith("bridge errors)"))
    for measure_, value, base, r in rows:
        print(f"  {measure_:<110} {value!s:>18} {base!s:>10} {r!s:>6}")
    write(
        args.result,
        rows,
        params={k: getattr(args, k) for k in DEFAULTS},
        broker={"version": version, "config": BROKER_CONFIG},
        limit=lim,
        sqlite=sqlite,
        postgres=pg,
        seconds=round(time.perf_counter() - started, 1),
    )
    if errors:
        raise SystemExit(f"{errors} errors (see the result's sqlite/postgres parts)")


if __name__ == "__main__":
    main()
