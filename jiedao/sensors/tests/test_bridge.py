"""The MQTT bridge against a real Mosquitto: events published with the real `mosquitto_pub` (QoS 1) are
stored once and raise their alerts; bad messages, unknown devices, times out of range and floods are
dropped with a log line while the bridge keeps running; and restarting Mosquitto and the bridge in the
middle loses no event.

The bridge writes from its own thread, so these tests use a transactional database
(`flushable_audit_log`). While a bridge runs, the tests watch its counters, not the database: on SQLite
the test database is in memory, shared between threads, and a read from the test's thread in the
middle of the bridge's write would only make the bridge retry.

Brokers: most tests use their own Mosquitto on a free port (persistent, in a temporary directory), so
that parallel test workers and other users of the machine's broker do not see each other's traffic;
`test_mosquitto_pub_to_the_configured_broker` uses the broker of MQTT_URL (CI's Mosquitto on 1883)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from jiedao.sensors.bridge import Bridge, parse_url
from jiedao.sensors.choices import AlertKind, AlertStatus
from jiedao.sensors.models import SensorAlert, SensorEvent
from jiedao.sensors.tests.helpers import bound
from jiedao.work.choices import Priority

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
pytestmark = [
    pytest.mark.skipif(
        not (os.path.exists(MOSQUITTO) and os.path.exists(MOSQUITTO_PUB)),
        reason="Mosquitto is not installed (apt-get install mosquitto mosquitto-clients)",
    ),
    pytest.mark.usefixtures("flushable_audit_log"),
]


# ---- brokers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or check}")
        time.sleep(0.05)


class Mosquitto:
    """Our own Mosquitto on 127.0.0.1:<free port>, persistent in a directory of its own, that a test can
    stop (SIGTERM: it saves its sessions and queued messages first), kill (SIGKILL) and start again on
    the same port with the same store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.store = root / "store"
        self.store.mkdir(parents=True, exist_ok=True)
        self.conf = root / "mosquitto.conf"
        self.log = root / "mosquitto.log"
        # `user root`: started as root, Mosquitto would otherwise switch to its own user, which cannot
        # write to our temporary directory. No queue limit: the tests count every message.
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.store}/\nautosave_interval 1800\nmax_queued_messages 0\n"
            f"log_dest file {self.log}\nlog_type error\nlog_type warning\nlog_type notice\n"
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.root / "stderr.log").open("ab") as err:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=err
            )
        try:
            wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, 10, "mosquitto to listen")  # type: ignore[union-attr]
        except AssertionError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            err = (self.root / "stderr.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {err} {self.log_tail()}")

    def save(self) -> None:
        """SIGUSR1: Mosquitto writes its store now (sessions, subscriptions, queued messages)."""
        assert self.proc is not None
        db = self.store / "mosquitto.db"
        before = db.stat().st_mtime_ns if db.exists() else 0
        self.proc.send_signal(signal.SIGUSR1)
        wait_for(lambda: db.exists() and db.stat().st_mtime_ns != before, 10, "mosquitto to save its store")
        time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        wait_for(lambda: not port_open(self.port), 10, "the port to close")

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop(signal.SIGKILL)


def configured_broker_url() -> str:
    """The broker of MQTT_URL, else the machine's Mosquitto on 1883."""
    return getattr(settings, "MQTT_URL", "") or "mqtt://127.0.0.1:1883"


def forget_session(url: str, client_id: str) -> None:
    """Connect once with a clean session under `client_id`: the broker drops what it kept for it (so
    tests leave no persistent sessions behind on a shared broker)."""
    import paho.mqtt.client as mqtt

    conn = parse_url(url)
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True
    )
    try:
        client.connect(conn["host"], conn["port"], keepalive=5)
        client.loop_start()
        time.sleep(0.2)
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass


def pub(url: str, device: str, payload: Any, *extra: str) -> None:
    """The real `mosquitto_pub`, QoS 1; `payload` is sent as JSON unless it is bytes or str."""
    conn = parse_url(url)
    if isinstance(payload, bytes):
        message = payload
    elif isinstance(payload, str):
        message = payload.encode()
    else:
        message = json.dumps(payload).encode()
    subprocess.run(
        [MOSQUITTO_PUB, "-h", conn["host"], "-p", str(conn["port"]), "-q", "1", "-i", f"pub-{uuid.uuid4().hex[:10]}",
         "-t", f"jiedao/sensors/{device}/events", "-s", *extra],
        input=message, check=True, timeout=20, capture_output=True,
    )  # fmt: skip


def pub_lines(url: str, device: str, lines: list[str]) -> None:
    """Many messages in one `mosquitto_pub -l` (one message per line, as fast as it can)."""
    conn = parse_url(url)
    subprocess.run(
        [MOSQUITTO_PUB, "-h", conn["host"], "-p", str(conn["port"]), "-q", "1", "-i", f"pub-{uuid.uuid4().hex[:10]}",
         "-t", f"jiedao/sensors/{device}/events", "-l"],
        input=("\n".join(lines) + "\n").encode(), check=True, timeout=60, capture_output=True,
    )  # fmt: skip


def at(delta: dt.timedelta = dt.timedelta(0)) -> str:
    return timezone.localtime(timezone.now() + delta).isoformat(timespec="seconds")


def ev(seq: int, kind: str = "heartbeat", **kw: Any) -> dict[str, Any]:
    return {"seq": seq, "type": kind, "at": at(), "battery": 90, "rssi": -61, **kw}


class Running:
    """A started bridge with a unique client ID; stopped (and its session forgotten) at the end."""

    def __init__(self, url: str, client_id: str = "") -> None:
        self.url = url
        self.client_id = client_id or f"test-bridge-{uuid.uuid4().hex[:10]}"
        self.bridge: Bridge | None = None

    def start(self) -> Bridge:
        self.bridge = Bridge(self.url, client_id=self.client_id, flush_seconds=0.05)
        self.bridge.start()
        wait_for(self.bridge.connected.is_set, 15, "the bridge to connect")
        time.sleep(0.2)  # its SUBSCRIBE reaches the broker before the test publishes
        return self.bridge

    def stop(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
            self.bridge = None


@pytest.fixture
def bridges() -> Iterator[Callable[..., Running]]:
    made: list[Running] = []

    def make(url: str, client_id: str = "") -> Running:
        r = Running(url, client_id)
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()
    for cid in {r.client_id for r in made}:
        for url in {r.url for r in made}:
            forget_session(url, cid)


def unique(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---- tests -----------------------------------------------------------------------------------------


def test_mosquitto_pub_to_the_configured_broker_stores_events_and_raises_a_door_alert(
    cast: Any, bridges: Callable[..., Running]
) -> None:
    url = configured_broker_url()
    conn = parse_url(url)
    if not port_open(conn["port"], conn["host"]):
        pytest.fail(f"no MQTT broker at {url}: start it (mosquitto -d -c /etc/mosquitto/mosquitto.conf)")
    binding = bound(cast, device_id=unique("DS"))
    device = binding.device.device_id
    bridge = bridges(url).start()
    pub(url, device, ev(1, "heartbeat", at=at(-dt.timedelta(seconds=2))))
    pub(url, device, ev(2, "door_open", at=at(-dt.timedelta(seconds=1))))
    pub(url, device, ev(3, "door_close", battery=88))
    wait_for(lambda: bridge.stats.applied >= 3, what="3 events stored")
    bridge.stop()
    events = list(SensorEvent.objects.filter(device=binding.device).order_by("seq"))
    assert [(e.seq, e.kind, e.source, e.binding_id) for e in events] == [
        (1, "heartbeat", "mqtt", binding.pk), (2, "door_open", "mqtt", binding.pk), (3, "door_close", "mqtt", binding.pk),
    ]  # fmt: skip
    alert = SensorAlert.objects.get(device=binding.device)
    assert (alert.kind, alert.status, alert.case_id, alert.event_id) == (
        AlertKind.DOOR_OPEN, AlertStatus.NEW, binding.case_id, events[1].pk,
    )  # fmt: skip
    assert alert.work_item is not None and alert.work_item.role == "grid_worker"
    assert alert.work_item.grid_id == binding.grid_id and alert.work_item.priority == Priority.URGENT
    binding.device.refresh_from_db()
    assert (binding.device.last_seq, binding.device.battery, binding.device.door_open) == (3, 88, False)


def test_bad_messages_are_dropped_with_a_log_line_and_the_bridge_keeps_running(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running], caplog: Any
) -> None:
    caplog.set_level(logging.WARNING, logger="jiedao.sensors")
    binding = bound(cast, device_id=unique("DS"))
    device = binding.device.device_id
    stranger = unique("NOBODY")
    url = mosquitto.url
    bridge = bridges(url).start()
    pub(url, device, b'{"seq": 1, "type": "door_open", "at": ')  # cut short
    pub(url, device, b"\xff\xfe\x00")  # not even UTF-8
    pub(url, stranger, ev(1, "door_open"))  # a device nobody registered
    pub(url, device, ev(2, "door_open", at=at(dt.timedelta(hours=2))))  # from the future
    pub(url, device, ev(3, "door_open", at=at(-dt.timedelta(hours=settings.SENSOR_MAX_EVENT_AGE_HOURS + 1))))
    pub(url, device, ev(4, "open sesame"))
    pub(url, device, [ev(5, "heartbeat"), {"seq": "six"}])  # one bad event spoils its message
    pub(url, device, ev(7, "heartbeat"))  # and after all that, a good one
    wait_for(lambda: bridge.stats.messages >= 8 and bridge.stats.applied >= 1, what="8 messages handled")
    assert bridge.writer.is_alive() and bridge.connected.is_set()
    bridge.stop()
    assert list(SensorEvent.objects.filter(device=binding.device).values_list("seq", flat=True)) == [7]
    assert not SensorAlert.objects.exists()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for expected in (
        f"dropped a message on jiedao/sensors/{device}/events: malformed JSON",
        f"event {stranger}#1 refused: unknown device",
        "'at' is in the future",
        "'at' is too far in the past",
        "'type' must be one of",
        "'seq' must be a positive whole number",
    ):
        assert any(expected in line for line in lines), (expected, lines)
    assert sum("malformed JSON" in line for line in lines) == 2
    assert bridge.stats.rejected == 7 and bridge.stats.applied == 1


def test_a_flood_from_one_device_is_cut_with_a_log_line_and_others_get_through(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running], caplog: Any, settings: Any
) -> None:
    settings.SENSOR_MAX_EVENTS_PER_SECOND = 5
    caplog.set_level(logging.WARNING, logger="jiedao.sensors")
    noisy = bound(cast, device_id=unique("NOISY")).device
    calm = bound(cast, device_id=unique("CALM")).device
    url = mosquitto.url
    bridge = bridges(url).start()
    flood = 60
    pub_lines(url, noisy.device_id, [json.dumps(ev(n, "door_open")) for n in range(1, flood + 1)])
    pub(url, calm.device_id, ev(1, "heartbeat"))
    wait_for(lambda: bridge.stats.messages >= flood + 1, what="the flood handled")
    time.sleep(1.1)  # the flood is over: the next second the device is heard again
    pub(url, noisy.device_id, ev(flood + 1, "heartbeat"))
    wait_for(lambda: bridge.stats.messages >= flood + 2, what="the event after the flood")
    bridge.stop()
    stored = set(SensorEvent.objects.filter(device=noisy).values_list("seq", flat=True))
    assert flood + 1 in stored  # heard again after the flood
    flooded = len(stored) - 1
    assert 5 <= flooded < flood // 2, flooded  # a few per second got in, most were cut
    assert SensorEvent.objects.filter(device=calm).count() == 1
    cut = [r.getMessage() for r in caplog.records if f"flood from {noisy.device_id}" in r.getMessage()]
    assert len(cut) == flood - flooded and bridge.stats.rejected == len(cut)
    # every opening that got in raised its alert; the dropped ones raised none
    assert SensorAlert.objects.filter(device=noisy).count() == flooded


def test_the_same_seq_delivered_again_is_stored_once(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running]
) -> None:
    binding = bound(cast, device_id=unique("DS"))
    device = binding.device.device_id
    url = mosquitto.url
    bridge = bridges(url).start()
    first = ev(1, "door_open")
    pub(url, device, first)
    pub(url, device, first)  # the device did not hear the PUBACK and sent it again
    pub(url, device, [first, ev(2, "door_close")])  # and once more inside a batch
    wait_for(lambda: bridge.stats.messages >= 3, what="3 messages")
    bridge.stop()
    assert sorted(SensorEvent.objects.filter(device=binding.device).values_list("seq", flat=True)) == [1, 2]
    assert SensorAlert.objects.filter(device=binding.device).count() == 1
    assert (bridge.stats.applied, bridge.stats.duplicates) == (2, 2)


def test_restarting_mosquitto_and_the_bridge_in_the_middle_loses_no_event(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running]
) -> None:
    """The bridge has its persistent session; it stops, QoS 1 events are published, Mosquitto restarts,
    more are published, and a new bridge with the same client ID stores every one, once."""
    devices = [bound(cast, device_id=unique("DS")).device.device_id for _ in range(4)]
    url = mosquitto.url
    run = bridges(url, client_id=unique("bridge"))
    seqs = {d: iter(range(1, 1000)) for d in devices}

    def publish(n: int) -> None:
        for d in devices:
            pub_lines(url, d, [json.dumps(ev(next(seqs[d]))) for _ in range(n)])

    first = run.start()
    publish(3)
    wait_for(lambda: first.stats.applied >= 12, what="the first 12 events")
    run.stop()  # the bridge goes away; the broker keeps its session and queues for it
    publish(8)
    mosquitto.restart()  # SIGTERM: Mosquitto saves the queue and loads it again
    publish(6)
    second = run.start()  # a new bridge, the same client ID
    wait_for(lambda: second.stats.messages >= 56, 30, "the 56 queued events")
    time.sleep(0.5)  # nothing more comes
    run.stop()
    assert first.stats.connects == 1 and second.stats.connects == 1
    assert (second.stats.applied, second.stats.duplicates, second.stats.rejected) == (56, 0, 0)
    for d in devices:
        stored = list(SensorEvent.objects.filter(device__device_id=d).values_list("seq", flat=True))
        assert sorted(stored) == list(range(1, 18)), (d, sorted(stored))


def test_a_long_outages_backlog_is_not_taken_for_a_flood(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running]
) -> None:
    """Two and a half hours without the bridge: a sensor's heartbeat every five minutes, 30 events,
    queued by the broker and delivered in one burst when the bridge is back. Each was sent at its own
    time, so none of them is part of a flood."""
    binding = bound(cast, device_id=unique("DS"))
    type(binding).objects.filter(pk=binding.pk).update(starts_at=timezone.now() - dt.timedelta(hours=3))
    device_id = binding.device.device_id
    url = mosquitto.url
    run = bridges(url, client_id=unique("bridge"))
    run.start()
    run.stop()  # its session (and subscription) stays with the broker
    backlog = [
        json.dumps(ev(n, at=at(-dt.timedelta(minutes=5 * (30 - n))))) for n in range(1, 31)
    ]  # one every five minutes, up to now
    for line in backlog:
        pub(url, device_id, line)
    second = run.start()
    wait_for(lambda: second.stats.messages >= 30, 30, "the backlog")
    run.stop()
    assert second.stats.rejected == 0, "events of a backlog were dropped as a flood"
    assert SensorEvent.objects.filter(device=binding.device).count() == 30


def test_events_published_through_restarts_while_they_flow_are_all_stored_once(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running]
) -> None:
    """Six sensors publish in turn (each retrying while the broker is down, as a QoS 1 sender does); in
    the middle the bridge stops, Mosquitto restarts and a new bridge takes over: every event stored
    once."""
    import threading

    devices = [bound(cast, device_id=unique("DS")).device.device_id for _ in range(6)]
    url = mosquitto.url
    run = bridges(url, client_id=unique("bridge"))
    rounds = 15
    sent: list[tuple[str, int]] = []
    stop = threading.Event()

    def sender() -> None:
        for n in range(1, rounds + 1):
            for d in devices:
                while not stop.is_set():
                    try:
                        pub(url, d, ev(n))
                        break
                    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                        time.sleep(0.1)  # the broker is down: try again
                sent.append((d, n))

    total = rounds * len(devices)
    bridges_seen = [run.start()]
    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(sent) >= 20, 60, "20 sent")
        run.stop()
        wait_for(lambda: len(sent) >= 35, 60, "35 sent")
        mosquitto.restart()
        wait_for(lambda: len(sent) >= 50, 60, "50 sent")
        bridges_seen.append(run.start())
        thread.join(120)
    finally:
        stop.set()
    assert len(sent) == total
    wait_for(lambda: sum(b.stats.applied for b in bridges_seen) >= total, 30, f"{total} stored")
    run.stop()
    assert sum(b.stats.rejected for b in bridges_seen) == 0
    for d in devices:
        stored = list(SensorEvent.objects.filter(device__device_id=d).values_list("seq", flat=True))
        assert sorted(stored) == list(range(1, rounds + 1)), (d, sorted(stored))


def test_the_bridge_reconnects_on_its_own_after_the_broker_is_killed(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running], caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="jiedao.sensors")
    device = bound(cast, device_id=unique("DS")).device.device_id
    url = mosquitto.url
    bridge = bridges(url).start()
    pub(url, device, ev(1))
    wait_for(lambda: bridge.stats.applied >= 1, what="the first event")
    mosquitto.save()  # the broker knows the bridge's session from its store
    mosquitto.stop(signal.SIGKILL)
    wait_for(lambda: not bridge.connected.is_set(), what="the bridge to notice")
    mosquitto.start()
    pub(url, device, ev(2, "door_open"))  # maybe before the bridge is back: queued in its session
    wait_for(lambda: bridge.stats.connects >= 2, 30, "the bridge to reconnect")
    pub(url, device, ev(3, "door_close"))
    wait_for(lambda: bridge.stats.applied >= 3, 15, "the events after the restart")
    assert bridge.writer.is_alive()
    bridge.stop()
    assert sorted(SensorEvent.objects.filter(device__device_id=device).values_list("seq", flat=True)) == [
        1,
        2,
        3,
    ]
    assert any("reconnecting" in r.getMessage() for r in caplog.records)


def test_a_batch_the_database_refused_is_retried_and_stored_once(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running], monkeypatch: Any, caplog: Any
) -> None:
    from django.db import OperationalError

    from jiedao.sensors import actions

    real = actions.do_ingest_events
    calls = {"n": 0}

    def flaky(*args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("database is locked")
        return real(*args, **kw)

    monkeypatch.setattr(actions, "do_ingest_events", flaky)
    binding = bound(cast, device_id=unique("DS"))
    url = mosquitto.url
    bridge = bridges(url).start()
    pub(url, binding.device.device_id, ev(1, "door_open"))
    wait_for(lambda: bridge.stats.applied >= 1, what="the event after the retry")
    bridge.stop()
    assert calls["n"] == 2 and bridge.stats.errors == ["database is locked"]
    assert SensorEvent.objects.filter(device=binding.device).count() == 1
    assert SensorAlert.objects.filter(device=binding.device).count() == 1
    assert any("retrying" in r.getMessage() for r in caplog.records)


def test_a_batch_never_stored_is_not_acknowledged_and_comes_again_to_the_next_bridge(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running], monkeypatch: Any
) -> None:
    from django.db import OperationalError

    from jiedao.sensors import actions

    real = actions.do_ingest_events

    def down(*args: Any, **kw: Any) -> Any:
        raise OperationalError("the database is down")

    monkeypatch.setattr(actions, "do_ingest_events", down)
    binding = bound(cast, device_id=unique("DS"))
    url = mosquitto.url
    run = bridges(url, client_id=unique("bridge"))
    first = run.start()
    pub(url, binding.device.device_id, ev(1, "door_open"))
    wait_for(lambda: first.stats.errors, what="the failed write")
    run.stop()  # gives up without acknowledging
    assert first.stats.applied == 0
    monkeypatch.setattr(actions, "do_ingest_events", real)
    second = run.start()
    wait_for(lambda: second.stats.applied >= 1, what="the redelivered event")
    run.stop()
    assert SensorEvent.objects.filter(device=binding.device).count() == 1
    assert SensorAlert.objects.filter(device=binding.device).count() == 1


# ---- the embedded broker (the demo's default) ------------------------------------------------------


@pytest.fixture
def embedded() -> Iterator[Any]:
    try:
        from jiedao.sensors.embedded import EmbeddedBroker
    except ImportError as exc:  # pragma: no cover - amqtt is a dependency
        pytest.skip(f"amqtt is not installed: {exc}")
    try:
        broker = EmbeddedBroker().start()
    except OSError as exc:
        pytest.skip(f"the embedded broker cannot listen here: {exc}")
    yield broker
    broker.stop()


def paho_publish(url: str, device: str, payloads: list[dict[str, Any]]) -> None:
    import paho.mqtt.client as mqtt

    conn = parse_url(url)
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=unique("pub"))
    client.connect(conn["host"], conn["port"])
    client.loop_start()
    try:
        for p in payloads:
            client.publish(f"jiedao/sensors/{device}/events", json.dumps(p), qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_the_embedded_broker_and_the_bridge_store_what_a_paho_client_publishes(
    cast: Any, embedded: Any, bridges: Callable[..., Running]
) -> None:
    binding = bound(cast, device_id=unique("DS"))
    device = binding.device.device_id
    run = bridges(embedded.url, client_id=unique("bridge"))
    bridge = run.start()
    paho_publish(embedded.url, device, [ev(1, at=at(-dt.timedelta(seconds=1))), ev(2, "door_open")])
    wait_for(lambda: bridge.stats.applied >= 2, what="2 events through the embedded broker")
    run.stop()  # the embedded broker keeps the bridge's session too: what comes meanwhile waits
    paho_publish(embedded.url, device, [ev(3, "door_close")])
    again = run.start()
    wait_for(lambda: again.stats.applied >= 1, what="the event queued while the bridge was away")
    run.stop()
    assert sorted(SensorEvent.objects.filter(device=binding.device).values_list("seq", flat=True)) == [
        1,
        2,
        3,
    ]
    alert = SensorAlert.objects.get()
    assert (alert.kind, alert.event.seq, alert.binding_id) == (AlertKind.DOOR_OPEN, 2, binding.pk)


def test_live_sensors_run_in_the_background_and_stop(cast: Any, embedded: Any) -> None:
    """What `jiedao demo` starts: the embedded broker, the bridge and the simulator, then stops."""
    from jiedao.sensors.embedded import start_live_sensors

    embedded.stop()  # this test starts its own, on a free port
    on_doors = [bound(cast, device_id=unique("DS")) for _ in range(3)]
    live = start_live_sensors(devices=3, rate=600, client_id=unique("bridge"), watch=False)
    try:
        assert live.broker is not None and live.url.startswith("mqtt://127.0.0.1:")
        assert "3 on doors" in live.describe()
        wait_for(lambda: live.bridge.stats.applied >= 6, 20, "live traffic stored")
    finally:
        live.stop()
    assert not live.bridge.writer.is_alive() and live.broker.thread is not None
    assert not live.broker.thread.is_alive()
    assert live.simulator._thread is not None and not live.simulator._thread.is_alive()
    published = live.simulator.stats["published"]
    stored = SensorEvent.objects.filter(device__in=[b.device for b in on_doors]).count()
    assert stored == live.bridge.stats.applied and 6 <= stored <= published
