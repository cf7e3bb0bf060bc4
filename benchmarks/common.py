"""Helpers shared by benchmarks: a migrated Django on a fresh SQLite file, options, timing, percentiles,
query counting, the result file, and a server under load (free port, readiness, keep-alive clients)
with a throwaway PostgreSQL database."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiedao.config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    # JIEDAO_DEBUG=1 only spares the benchmark real keys. With DEBUG on, Django wraps every cursor to
    # log its SQL, and on SQLite that runs an extra `SELECT QUOTE(?), ...` per statement to render the
    # parameters; bulk inserts would pay for it. Production runs without it, so the timings do too.
    settings.DEBUG = False


def options(description: str, **defaults: int) -> argparse.Namespace:
    """`python -m benchmarks.bench_x RESULT.json [--name N ...]`. Unknown options are ignored, so the
    runner can pass one set of options to every benchmark."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("result", help="where to write the result JSON")
    for name, default in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default, dest=name)
    args, _unknown = parser.parse_known_args()
    return args


def say(message: str) -> None:
    print(f"  {message}", flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered) * 1000, 3), "p95_ms": round(p95 * 1000, 3)}


class QueryCounter:
    """Counts SQL statements through `connection.execute_wrapper` and remembers the slowest: no SQL
    logging, so counting costs next to nothing and can run inside the timed region."""

    def __init__(self) -> None:
        self.count = 0
        self.slowest: dict[str, float] = {}  # statement → its longest run, seconds

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - started
            if took > self.slowest.get(sql, 0.0):
                self.slowest[sql] = took

    def top(self, n: int = 3) -> list[dict[str, Any]]:
        worst = sorted(self.slowest.items(), key=lambda kv: -kv[1])[:n]
        return [{"ms": ms(took), "sql": sql} for sql, took in worst]


@contextmanager
def counting_queries() -> Iterator[QueryCounter]:
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def machine() -> dict[str, Any]:
    import sqlite3

    import django

    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.read_text().splitlines()
            if ln.startswith("model name")
        ]
        model = names[0] if names else model
    return {
        "cpus": os.cpu_count(),
        "processor": model,
        "system": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def ratio(value: float, base: float) -> float | None:
    return round(value / base, 2) if base else None


def write(path: str, rows: list[tuple[str, Any, Any, Any]], **extra: Any) -> None:
    """rows: (measure, value, baseline or limit, ratio)."""
    Path(path).write_text(
        json.dumps({"rows": rows, "machine": machine(), **extra}, ensure_ascii=False, indent=2, default=str)
    )


def write_sheet(path: Path, sheet_name: str, header: list[str], rows: list[list[Any]]) -> bytes:
    """An xlsx of `rows` under `header`, streamed (constant memory); numbers as numbers, and every other
    value — IDs and phones included — as text, as a careful ledger keeps them."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet(sheet_name)
    sheet.write_row(0, 0, header)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if value == "":
                continue
            if isinstance(value, int):
                sheet.write_number(i, j, value)
            else:
                sheet.write_string(i, j, value)
    book.close()
    return path.read_bytes()


# ---- a server under load (`jiedao serve` on a free port) and a throwaway PostgreSQL database ----


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"jiedao serve exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("jiedao serve did not answer /healthz in time")


class Load:
    """`clients` threads, each with one keep-alive connection, sending requests from a shared supply
    until it runs out or the time is up."""

    def __init__(self, port: int, clients: int, seconds: float) -> None:
        self.port, self.clients, self.seconds = port, clients, seconds
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.latencies: list[float] = []

    def run(
        self, make: Callable[[http.client.HTTPConnection], Iterator[Callable[[], int]]]
    ) -> dict[str, Any]:
        stop = time.monotonic() + self.seconds
        done = 0
        threads = []
        started = time.perf_counter()

        def worker() -> None:
            nonlocal done
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                for send in make(conn):
                    if time.monotonic() > stop:
                        break
                    t = time.perf_counter()
                    try:
                        status = send()
                    except Exception as exc:  # a broken connection counts as an error
                        with self.lock:
                            self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                        continue
                    took = time.perf_counter() - t
                    with self.lock:
                        done += 1
                        self.statuses[status] += 1
                        self.latencies.append(took)
            finally:
                conn.close()

        for _ in range(self.clients):
            th = threading.Thread(target=worker)
            th.start()
            threads.append(th)
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - started
        errors = sum(n for s, n in self.statuses.items() if s != 200) + len(self.errors)
        return {
            "requests": done,
            "seconds": round(elapsed, 2),
            "per_second": round(done / elapsed, 1),
            "statuses": dict(self.statuses),
            "errors": errors,
            "error_samples": self.errors[:5],
            **percentiles(self.latencies or [0.0]),
        }


def pg_admin(admin_url: str, sql: str) -> None:
    """Run one statement on the server's `postgres` database (create or drop a benchmark's own)."""
    import psycopg

    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]
