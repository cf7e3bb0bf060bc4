"""Issue 5, "Done when": thousands of registration items, sent with retries and deliberate replays while
the real server (`jiedao serve`, waitress) is killed with SIGKILL and restarted, and afterwards every
acknowledged sample is in the database exactly once.

The server runs in its own process group, with production settings, against a throwaway database (a
SQLite file, or a PostgreSQL database created and dropped here when DATABASE_URL is PostgreSQL); the
database is built and read by subprocesses (kill_restart_db.py), so pytest-django's own test database
is not involved. Four phone threads send 240 tubes in three rounds (open, the samples, close: ~2,600
items) in batches of varying size and as single items, retry every unanswered request with the same
keys, and replay some answered ones on purpose. A fifth, lossy phone sends a pair of 5-in-1 tubes
every second or two, and one at each kill, and gives up for good on a batch that went unanswered
(always when it was cut off in flight, half the time when the connection was refused): those items
must be absent or present once. A few samples carry a damaged ID: their refusal is their key's
answer. The server is killed three times at random moments.

The seed is fixed (JIEDAO_KILL_SEED overrides it) so a failure can be replayed; JIEDAO_KILL_TUBES sets
the number of tubes (240: ~3,000 items; the run costs ~105 s of CPU, a third of it migrating and
filling the database, and took 166 s on the shared 2-core machine at load 1-3)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[3]
SEED = int(os.environ.get("JIEDAO_KILL_SEED", "20221101"))
TUBES = int(os.environ.get("JIEDAO_KILL_TUBES", "240"))  # shared by the phones: ~2,600 items
ROUNDS = 3  # under way at once: a person is sampled once in each
PHONES = 4
LOSSY_TUBES = 60  # at most: the lossy phone sends 5-in-1 tubes, two a batch, until the others finish
KILLS = 3
WALK_IN_SHARE = 0.05  # samples of people not on the register (the server adds them by name)
BAD_SHARE = 0.01  # samples with a damaged resident ID: refused, and the refusal is the key's answer
REPLAY_SHARE = 0.08  # answered requests sent again on purpose
SINGLE_SHARE = 0.2  # requests that go to the single-item endpoint
REQUEST_TIMEOUT = 30.0
DEADLINE = 600.0  # a phone that cannot get its queue answered in this long fails the test, not hangs it
ACKED = {"created", "duplicate"}
# the single-item endpoint answers with the item's status as the HTTP status (api.STATUS)
SINGLE_STATUSES = {200, 201, 404, 409, 422}


# ---- the database and the server -------------------------------------------------------------------


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if urlsplit(url).scheme in ("postgres", "postgresql") else None


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway database of the kind the suite runs on: a SQLite file, or a PostgreSQL database
    created here and dropped afterwards, whatever happened."""
    pg = _postgres_url()
    if pg is None:
        yield f"sqlite:///{tmp_path / 'jiedao.sqlite3'}"
        return
    import psycopg

    name = f"jiedao_kill_{os.getpid()}_{secrets.token_hex(4)}"
    admin = _with_db(pg, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_db(pg, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    """Production settings (no debug, no test mode, real keys) on the throwaway database; nothing of the
    suite's own configuration leaks in. Redis and MQTT stay off: registration needs neither."""
    dropped = (
        "JIEDAO_",
        "DATABASE_URL",
        "REDIS_URL",
        "MQTT_URL",
        "DJANGO_",
        "PYTEST",
        "PYTHONDONTWRITEBYTECODE",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(
        DATABASE_URL=database_url,
        JIEDAO_VAR_DIR=str(tmp_path / "var"),
        JIEDAO_DEBUG="0",
        JIEDAO_TESTING="0",
        JIEDAO_SECRET_KEY=secrets.token_urlsafe(48),
        JIEDAO_FIELD_KEY=base64.b64encode(os.urandom(32)).decode(),
        JIEDAO_LOG_LEVEL="WARNING",
        # each restart imports the whole project again: let the processes share compiled bytecode
        # (kept under tmp_path, never in the checkout)
        PYTHONPYCACHEPREFIX=str(tmp_path / "pycache"),
    )
    return env


def _db_script(env: dict[str, str], *args: str) -> Any:
    run = subprocess.run(
        [sys.executable, "-m", "jiedao.nat.tests.kill_restart_db", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, f"kill_restart_db {' '.join(args)} failed:\n{run.stderr[-4000:]}"
    return json.loads(run.stdout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`jiedao serve` in its own process group, so a kill takes every thread and child with it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = _free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jiedao.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--no-migrate"],
                env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with {self.proc.returncode}:\n{self._tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        self.starts += 1
                        return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer /healthz within {timeout}s:\n{self._tail()}")

    def kill(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return  # never started, or reaped already: its pid may belong to someone else by now
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group: the server and anything it started
        self.proc.wait()

    def crash(self) -> None:
        """The test's deliberate kill: SIGKILL, no chance to finish a request or a transaction."""
        assert self.proc is not None and self.proc.poll() is None, "the server died on its own"
        self.kill()
        self.kills += 1

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


# ---- the phones ------------------------------------------------------------------------------------


@dataclass
class Tube:
    phone: str
    n: int
    round: int  # index into the setup's rounds
    capacity: int
    filled: int


def _shapes(rng: random.Random) -> tuple[list[list[Tube]], list[Tube]]:
    """The tubes each phone fills, and the lossy phone's: mostly 10-in-1, some 5, 20 and single, most
    filled, some sealed early; each in one of the rounds."""

    def tube(phone: str, n: int) -> Tube:
        capacity = rng.choice((10, 10, 10, 10, 10, 10, 5, 20, 1))
        filled = capacity if rng.random() < 0.8 else rng.randint(1, capacity)
        return Tube(phone, n, rng.randrange(ROUNDS), capacity, filled)

    queues: list[list[Tube]] = [[] for _ in range(PHONES)]
    for n in range(TUBES):
        queues[n % PHONES].append(tube(f"P{n % PHONES}", n))
    return queues, [Tube("L", n, rng.randrange(ROUNDS), 5, 5) for n in range(LOSSY_TUBES)]


def _people_needed(queues: list[list[Tube]], lossy: list[Tube]) -> int:
    per_round = Counter[int]()
    for t in [*(t for q in queues for t in q), *lossy]:
        per_round[t.round] += t.filled
    return max(per_round.values())


@dataclass
class Plan:
    """What the phones will send: per phone a list of items in the order they happened."""

    queues: list[list[dict[str, Any]]]
    lossy: list[list[dict[str, Any]]]  # the lossy phone's batches, two tubes each
    person_of: dict[str, tuple[int, str]]  # sample key -> (round, id number)
    bad: set[str]  # keys of samples with a damaged ID

    @property
    def items(self) -> list[dict[str, Any]]:
        return [it for q in self.queues for it in q] + [it for b in self.lossy for it in b]


def _plan(rng: random.Random, setup: dict[str, Any], queues: list[list[Tube]], lossy: list[Tube]) -> Plan:
    rounds = setup["rounds"]
    walk_ins = [tuple(w) for w in setup["walk_ins"]]
    rng.shuffle(walk_ins)
    pools = []  # per round, everyone on the register in its own order
    for _ in rounds:
        pool = list(setup["registered"])
        rng.shuffle(pool)
        pools.append(pool)
    person_of: dict[str, tuple[int, str]] = {}
    bad: set[str] = set()
    # the phones' clocks: sampling started three hours ago, an item every few seconds, all in the past
    start = datetime.now().astimezone() - timedelta(hours=3)

    def items(t: Tube, clock: list[datetime]) -> list[dict[str, Any]]:
        def at() -> str:
            clock[0] += timedelta(seconds=rng.randint(1, 4))
            return clock[0].isoformat()

        barcode = f"KR{t.phone}{t.n:05d}"
        keys = (f"{t.phone}-{t.n:05d}-{i:03d}-{secrets.token_hex(4)}" for i in range(1000))
        out: list[dict[str, Any]] = [
            {"key": next(keys), "op": "open_tube", "barcode": barcode, "capacity": t.capacity,
             "round": rounds[t.round], "site": setup["site"], "at": at()}
        ]  # fmt: skip
        for _ in range(t.filled):
            if rng.random() < BAD_SHARE:  # before a good sample, so the tube is not full yet
                number = rng.choice(setup["registered"])
                damaged = number[:-1] + ("1" if number[-1] == "0" else "0")  # a wrong check character
                out.append({"key": next(keys), "op": "sample", "barcode": barcode, "id_number": damaged,
                            "at": at()})  # fmt: skip
                bad.add(out[-1]["key"])
            if walk_ins and rng.random() < WALK_IN_SHARE:
                number, name = walk_ins.pop()  # new to the register: in one round only
                who = {"id_number": number, "name": name}
            else:
                who = {"id_number": pools[t.round].pop()}
            item = {"key": next(keys), "op": "sample", "barcode": barcode, **who, "at": at()}
            person_of[item["key"]] = (rounds[t.round], who["id_number"])
            out.append(item)
        out.append({"key": next(keys), "op": "close_tube", "barcode": barcode, "at": at()})
        return out

    plan_queues = []
    for q in queues:
        clock = [start]
        plan_queues.append([it for t in q for it in items(t, clock)])
    clock = [start]
    lossy_items = [items(t, clock) for t in lossy]
    pairs = [lossy_items[i] + lossy_items[i + 1] for i in range(0, len(lossy_items) - 1, 2)]
    return Plan(plan_queues, pairs, person_of, bad)


@dataclass
class Ledger:
    """What the client was told, shared by the phones (under one lock)."""

    first: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> first answer seen
    abandoned: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)  # unanswered requests by kind
    server_errors: list[str] = field(default_factory=list)  # 5xx or anything unexpected
    mismatches: list[str] = field(default_factory=list)  # a replay answered unlike the first time
    replays: int = 0
    requests: int = 0
    abort: threading.Event = field(default_factory=threading.Event)  # the test failed: phones stop
    lock: threading.Lock = field(default_factory=threading.Lock)
    progress: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.progress = threading.Condition(self.lock)

    def record(self, items: list[dict[str, Any]], answers: list[dict[str, Any]]) -> None:
        with self.lock:
            for item, answer in zip(items, answers, strict=True):
                key = item["key"]
                if answer.get("key") != key:
                    self.mismatches.append(f"{key}: answered for key {answer.get('key')!r}")
                    continue
                if key not in self.first:
                    self.first[key] = answer
                elif _body(answer) != _body(self.first[key]) or not _same_status(self.first[key], answer):
                    self.mismatches.append(f"{key}: first {self.first[key]}, then {answer}")
            self.progress.notify_all()


def _body(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "status"}


def _same_status(first: dict[str, Any], later: dict[str, Any]) -> bool:
    # an applied item answers `created` once and `duplicate` ever after; anything else answers the same
    if first["status"] in ACKED:
        return later["status"] == "duplicate"
    return later["status"] == first["status"]


class Unanswered(Exception):
    pass


class Phone:
    def __init__(self, name: str, base_url: str, api_key: str, ledger: Ledger, rng: random.Random) -> None:
        self.name = name
        self.base_url = base_url
        self.api_key = api_key
        self.ledger = ledger
        self.rng = rng
        self.answered: list[tuple[list[dict[str, Any]], bool]] = []  # (items, single) sent and answered
        self.error: BaseException | None = None
        self.in_flight = threading.Event()
        self.go = threading.Event()  # the lossy phone: send the next batch now
        self.sent: list[list[dict[str, Any]]] = []  # the lossy phone's batches it did send

    def _post(self, path: str, body: Any) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.base_url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "X-API-Key": self.api_key},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:  # a status outside 2xx: an answer, or an error page
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw[:300]

    def send_once(self, items: list[dict[str, Any]], single: bool) -> list[dict[str, Any]]:
        """One request; the answers, or Unanswered if the server did not answer it (died, refused the
        connection, or answered with something that is not an answer)."""
        with self.ledger.lock:
            self.ledger.requests += 1
        self.in_flight.set()
        try:
            if single:
                status, body = self._post("/api/v1/nat/registration", items[0])
                ok = status in SINGLE_STATUSES and isinstance(body, dict) and "status" in body
                answers = [body] if ok else None
            else:
                status, body = self._post("/api/v1/nat/registrations", {"items": items})
                ok = status == 200 and isinstance(body, dict) and len(body.get("items", [])) == len(items)
                answers = body["items"] if ok else None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            reason = getattr(exc, "reason", exc)  # urllib wraps a refused connection in URLError
            kind = type(reason).__name__
            with self.ledger.lock:
                self.ledger.failures[kind] += 1
            raise Unanswered(kind) from None
        finally:
            self.in_flight.clear()
        if answers is None:
            with self.ledger.lock:
                self.ledger.server_errors.append(f"{self.name}: HTTP {status}: {str(body)[:300]}")
                self.ledger.failures[f"HTTP {status}"] += 1
            raise Unanswered(f"HTTP {status}")
        return answers

    def send(self, items: list[dict[str, Any]], single: bool, deadline: float) -> list[dict[str, Any]]:
        """Until answered, with the same keys: what a phone does with its queue."""
        pause = 0.05
        while True:
            try:
                return self.send_once(items, single)
            except Unanswered:
                if self.ledger.abort.is_set():
                    raise AssertionError(f"{self.name}: stopped, the test failed elsewhere") from None
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name}: no answer before the deadline") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def replay(self, deadline: float) -> None:
        items, single = self.rng.choice(self.answered)
        if not single and len(items) > 1 and self.rng.random() < 0.5:
            # the same items regrouped: a phone that lost its answers resends them in other pages
            cut = self.rng.randint(1, len(items) - 1)
            groups = [items[:cut], items[cut:]]
        else:
            groups = [items]
        for group in groups:
            self.ledger.record(group, self.send(group, single and len(group) == 1, deadline))
        with self.ledger.lock:
            self.ledger.replays += 1

    def run_queue(self, queue: list[dict[str, Any]]) -> None:
        deadline = time.monotonic() + DEADLINE
        i = 0
        try:
            while i < len(queue):
                if self.answered and self.rng.random() < REPLAY_SHARE:
                    self.replay(deadline)
                single = self.rng.random() < SINGLE_SHARE
                size = 1 if single else self.rng.choice((2, 3, 5, 8, 12, 20, 40, 80, 150))
                batch = queue[i : i + size]
                self.ledger.record(batch, self.send(batch, single, deadline))
                self.answered.append((batch, single))
                i += len(batch)
        except BaseException as exc:  # surfaced by the test thread
            self.error = exc

    def run_lossy(self, batches: list[list[dict[str, Any]]], stop: threading.Event) -> None:
        """A phone that gives up: a batch cut off in flight (the server may have applied part of it) is
        never sent again, nor half the time is one whose connection was refused (the phone was
        reset); the others are retried until answered. It sends every second or two, and at once when
        the killer asks, so that some kills cut its batches off."""
        deadline = time.monotonic() + DEADLINE
        try:
            for batch in batches:
                self.go.wait(self.rng.uniform(1.0, 3.0))
                self.go.clear()
                if stop.is_set():
                    return
                self.sent.append(batch)
                try:
                    answers = self.send_once(batch, single=False)
                except Unanswered as exc:
                    if str(exc) != "ConnectionRefusedError" or self.rng.random() < 0.5:
                        with self.ledger.lock:
                            self.ledger.abandoned.update(item["key"] for item in batch)
                        continue
                    answers = self.send(batch, False, deadline)
                self.ledger.record(batch, answers)
        except BaseException as exc:
            self.error = exc


def _killer(
    server: Server, ledger: Ledger, total: int, rng: random.Random, done: threading.Event, lossy: Phone
) -> None:
    """Kill the server when the acknowledged items pass each of KILLS random marks, and restart it. Each
    kill first has the lossy phone send a batch and lands a random moment into it, so a batch it gives
    up on is cut off in the middle (the other phones are sending all the time anyway)."""
    marks = sorted(rng.uniform(0.05, 0.85) * total for _ in range(KILLS))
    for mark in marks:
        with ledger.progress:
            while len(ledger.first) < mark and not done.is_set():
                ledger.progress.wait(timeout=0.5)
        if done.is_set():
            return
        lossy.go.set()
        lossy.in_flight.wait(timeout=3)
        time.sleep(rng.uniform(0.02, 0.25))  # a random moment in the request: sent, perhaps half applied
        server.crash()
        time.sleep(rng.uniform(0.2, 1.0))
        server.start()


class Stopwatch:
    """Wall time and CPU time per phase; the CPU time (this process and its finished children, the
    killed servers included) does not depend on what else the machine is running."""

    def __init__(self) -> None:
        self.marks = [("start", *self._now())]

    @staticmethod
    def _now() -> tuple[float, float, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        return time.monotonic(), children.ru_utime + children.ru_stime, me.ru_utime + me.ru_stime

    def mark(self, name: str) -> None:
        self.marks.append((name, *self._now()))

    def __str__(self) -> str:
        return ", ".join(
            f"{name} {wall - w0:.1f}s (CPU: subprocesses {sub - s0:.1f}s, test {me - m0:.1f}s)"
            for (_, w0, s0, m0), (name, wall, sub, me) in zip(self.marks, self.marks[1:], strict=False)
        )


# ---- the test ------------------------------------------------------------------------------------


def test_every_acknowledged_sample_is_stored_exactly_once_across_kills(
    tmp_path: Path, database_url: str
) -> None:
    rng = random.Random(SEED)
    env = _environment(tmp_path, database_url)
    clock = Stopwatch()
    queues, lossy_tubes = _shapes(rng)
    people = _people_needed(queues, lossy_tubes)
    walk_ins = int(people * ROUNDS * WALK_IN_SHARE * 2) + 20  # twice what the plan is likely to use
    setup = _db_script(env, "setup", str(people), str(walk_ins), str(ROUNDS))
    clock.mark("setup")
    plan = _plan(rng, setup, queues, lossy_tubes)
    server = Server(env, tmp_path / "server.log")
    ledger = Ledger()
    done = threading.Event()  # the four phones have every item answered
    phones = [
        Phone(f"P{p}", server.url, setup["api_key"], ledger, random.Random(rng.random()))
        for p in range(PHONES)
    ]
    lossy = Phone("L", server.url, setup["api_key"], ledger, random.Random(rng.random()))
    main_items = [it for q in plan.queues for it in q]
    killer_error: list[BaseException] = []

    def killer() -> None:
        try:
            _killer(server, ledger, len(main_items), random.Random(rng.random()), done, lossy)
        except BaseException as exc:
            killer_error.append(exc)

    try:
        server.start()
        clock.mark("first start")
        threads = [
            threading.Thread(target=ph.run_queue, args=(q,), daemon=True)
            for ph, q in zip(phones, plan.queues, strict=True)
        ]
        lossy_thread = threading.Thread(target=lossy.run_lossy, args=(plan.lossy, done), daemon=True)
        kill_thread = threading.Thread(target=killer, daemon=True)
        for t in [*threads, lossy_thread, kill_thread]:
            t.start()
        while any(t.is_alive() for t in threads) and not killer_error:
            for t in threads:
                t.join(0.5)
        done.set()
        lossy.go.set()
        with ledger.progress:
            ledger.progress.notify_all()
        lossy_thread.join(DEADLINE + 60)
        kill_thread.join(DEADLINE)
        assert not killer_error, killer_error
        for ph in [*phones, lossy]:
            assert ph.error is None, f"{ph.name}: {ph.error!r}"
        clock.mark("traffic")
        if server.proc is None or server.proc.poll() is not None:
            server.start()

        # every acknowledged item once more, in big pages: each must answer as it did the first time
        sent = main_items + [it for batch in lossy.sent for it in batch]
        checker = Phone("final", server.url, setup["api_key"], ledger, rng)
        acked_items = [it for it in sent if it["key"] in ledger.first]
        deadline = time.monotonic() + DEADLINE
        for i in range(0, len(acked_items), 500):
            page = acked_items[i : i + 500]
            ledger.record(page, checker.send(page, False, deadline))
        clock.mark("final replay")
    finally:
        done.set()
        ledger.abort.set()  # if the test failed above, the phones stop retrying
        lossy.go.set()
        server.kill()

    db = _db_script(env, "check")
    clock.mark("check")

    # -- the run really was hostile: the server was killed and restarted, and requests went unanswered
    assert server.kills >= 3 and server.starts >= server.kills + 1, (server.kills, server.starts)
    assert sum(ledger.failures.values()) > 0, "no request failed: the kills proved nothing"
    assert ledger.replays > 0
    # -- never a 500 or a malformed answer, and every replay answered like the first time
    assert ledger.server_errors == [], ledger.server_errors[:10]
    assert ledger.mismatches == [], ledger.mismatches[:10]
    log = server.log.read_text(errors="replace")
    assert "Internal Server Error" not in log and "Traceback" not in log, log[-4000:]

    regs = db["registrations"]
    by_key = {it["key"]: it for it in sent}
    abandoned = ledger.abandoned - set(ledger.first)
    # every item sent was answered, or given up on by the lossy phone; the log holds only items sent
    assert set(ledger.first) | abandoned == set(by_key)
    assert set(regs) <= set(by_key), sorted(set(regs) - set(by_key))[:10]
    assert db["conflicts"] == 0

    # -- every answered item is in the log once, under its key, with the answer the client got: good
    # items applied, damaged IDs refused
    expected = {k: ("refused" if k in plan.bad else "applied") for k in by_key}
    for key, answer in ledger.first.items():
        assert answer["status"] in ({"refused"} if key in plan.bad else ACKED), (key, answer)
        reg = regs.get(key)
        assert reg is not None, f"{key} was answered {answer['status']} but is not in the log"
        assert reg["outcome"] == expected[key], (key, reg, answer)
        assert reg["answer"] == {k: v for k, v in answer.items() if k not in ("key", "status")}, (key, reg)
    assert {ledger.first[k]["field"] for k in plan.bad & set(ledger.first)} <= {"id_number"}

    samples = db["samples"]
    sample_by_id = {s["id"]: s for s in samples}
    sample_keys = {k for k, it in by_key.items() if it["op"] == "sample"} - plan.bad
    for key in sample_keys & set(ledger.first):
        s = sample_by_id.get(regs[key]["sample"])
        assert s is not None, f"{key}: acknowledged, but its sample is missing"
        assert ((s["round"], s["id_number"]), s["tube"], s["key"]) == (
            plan.person_of[key],
            by_key[key]["barcode"],
            key,
        ), (s, by_key[key])

    # -- exactly once: one sample per person and round, each with its registration, none for a refusal
    per_person = Counter((s["round"], s["id_number"]) for s in samples)
    assert [p for p, n in per_person.items() if n != 1] == []
    assert [s for s in samples if s["key"] is None] == []
    assert {s["key"] for s in samples} <= sample_keys
    assert Counter(p["id_number"] for p in db["persons"]).most_common(1)[0][1] == 1

    # -- tubes: members equal their samples; every acknowledged close closed its tube
    tubes = db["tubes"]
    assert {b: t for b, t in tubes.items() if t["members"] != t["samples"]} == {}
    opened = {it["barcode"] for k, it in by_key.items() if it["op"] == "open_tube" and k in regs}
    assert set(tubes) == opened
    for key, it in by_key.items():
        if it["op"] == "close_tube" and key in ledger.first:
            assert tubes[it["barcode"]]["status"] == "closed", key

    # -- items given up on: absent, or present exactly once
    present_abandoned = abandoned & set(regs)
    for key in present_abandoned:
        assert regs[key]["outcome"] == expected[key], (key, regs[key])
    for key in abandoned & sample_keys:
        n = per_person.get(plan.person_of[key], 0)
        assert n == (1 if key in regs else 0), (key, n)

    acked_samples = sample_keys & set(ledger.first)
    assert len(samples) == len(acked_samples) + len(present_abandoned & sample_keys)
    # kills landed while requests were in flight (cut off, not refused): their batches were rolled back
    # whole (one transaction per batch) or committed before the answer was lost (then answered
    # `duplicate` by the retry); either way the checks above found every acknowledged item exactly once
    lost_answers = sum(1 for a in ledger.first.values() if a["status"] == "duplicate")
    cut_off = sum(
        n for kind, n in ledger.failures.items() if "Refused" not in kind and not kind.startswith("HTTP")
    )
    assert cut_off > 0, dict(ledger.failures)
    print(
        f"\nkill-restart: seed {SEED}, {len(sent)} items sent ({len(main_items)} by the four phones,"
        f" {len(plan.bad & set(by_key))} with a damaged ID),"
        f" {len(samples)} samples in {len(tubes)} tubes; {server.kills} kills, {server.starts} starts;"
        f" {ledger.requests} requests, {sum(ledger.failures.values())} unanswered {dict(ledger.failures)};"
        f" {ledger.replays} deliberate replays; {lost_answers} items first acknowledged as duplicate"
        f" (applied, answer lost); {len(abandoned)} items abandoned, {len(present_abandoned)} of them in"
        f" the log. Times: {clock}"
    )
