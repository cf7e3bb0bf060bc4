"""The MQTT bridge (`jiedao mqtt-bridge`): subscribes to every sensor's events at QoS 1 with a persistent
session, stores them in batches through `do_ingest_events`, and acknowledges each message only after its
batch is committed — so a crash or a broker restart loses nothing (the broker delivers again) and a
redelivery changes nothing (events are keyed by device and sequence number). Bad messages and floods are
dropped with a log line; nothing a sender does stops the bridge."""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from jiedao.sensors import events
from jiedao.sensors.choices import EventSource

log = logging.getLogger("jiedao.sensors.bridge")


@dataclass
class BridgeStats:
    messages: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0  # bad messages, unknown devices, floods
    alerts: int = 0
    batches: int = 0
    connects: int = 0
    errors: list[str] = field(default_factory=list)


def parse_url(url: str) -> dict[str, Any]:
    """`mqtt://user:password@host:port` (or tcp://) → connection settings."""
    u = urllib.parse.urlsplit(url or "mqtt://127.0.0.1:1883")
    if u.scheme not in ("mqtt", "tcp", "mqtts"):
        raise ValueError(f"MQTT_URL must start with mqtt://, got {url!r}")
    return {
        "host": u.hostname or "127.0.0.1",
        "port": u.port or (8883 if u.scheme == "mqtts" else 1883),
        "username": urllib.parse.unquote(u.username) if u.username else None,
        "password": urllib.parse.unquote(u.password) if u.password else None,
        "tls": u.scheme == "mqtts",
    }


class FloodGuard:
    """At most `per_second` events a device within any one second of the device's own clock (the events'
    `at`); the rest are dropped. Counted by the time the events say they happened, not by when they
    arrive: a backlog the broker delivers in one burst after an outage is not a flood."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self.seen: dict[tuple[str, int], int] = {}

    def allow(self, device_id: str, at: float) -> bool:
        key = (device_id, int(at))
        n = self.seen.get(key, 0)
        if n >= self.per_second:
            return False
        self.seen[key] = n + 1
        if len(self.seen) > 100_000:  # forget all but the last ten minutes
            newest = max(second for _d, second in self.seen)
            self.seen = {k: v for k, v in self.seen.items() if k[1] > newest - 600}
        return True


class Bridge:
    def __init__(
        self,
        url: str | None = None,
        *,
        client_id: str = "jiedao-bridge",
        topic: str = events.TOPIC_FILTER,
        max_batch: int = 500,
        flush_seconds: float = 0.1,
    ) -> None:
        self.conn = parse_url(url or getattr(settings, "MQTT_URL", "") or "mqtt://127.0.0.1:1883")
        self.client_id = client_id
        self.topic = topic
        self.max_batch = max_batch
        self.flush_seconds = flush_seconds
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.stop_event = threading.Event()
        self.connected = threading.Event()
        self.stats = BridgeStats()
        self.guard = FloodGuard(getattr(settings, "SENSOR_MAX_EVENTS_PER_SECOND", 20))
        self.client = self._client()

    def _client(self) -> Any:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
            clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True,
        )  # fmt: skip
        if self.conn["username"]:
            client.username_pw_set(self.conn["username"], self.conn["password"])
        if self.conn["tls"]:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # -- network thread --------------------------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT connect refused: %s", reason)
            return
        self.stats.connects += 1
        client.subscribe(self.topic, qos=1)
        self.connected.set()
        log.info(
            "bridge connected to %s:%s, subscribed to %s", self.conn["host"], self.conn["port"], self.topic
        )

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connected.clear()
        if not self.stop_event.is_set():
            log.warning("bridge disconnected (%s); reconnecting", reason)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        self.inbox.put(msg)

    # -- the writer thread ------------------------------------------------------------------------

    def _take_batch(self) -> list[Any]:
        """Wait up to `flush_seconds` for the first message, then take what is already there (up to
        `max_batch`) without waiting for more: the broker sends only so many unacknowledged messages
        (Mosquitto: 20), so waiting for a full batch would only add latency."""
        try:
            batch = [self.inbox.get(timeout=self.flush_seconds)]
        except queue.Empty:
            return []
        while len(batch) < self.max_batch:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def process(self, batch: list[Any]) -> None:
        """Parse, guard, store and then acknowledge one batch of messages. On a database error the batch
        is retried (not acknowledged) until it is stored or the bridge stops."""
        from jiedao.sensors.actions import do_ingest_events

        parsed = []
        for msg in batch:
            self.stats.messages += 1
            try:
                items = events.parse_message(msg.topic, msg.payload)
            except events.BadEvent as exc:
                self.stats.rejected += 1
                log.warning("dropped a message on %s: %s", str(msg.topic)[:100], exc)
                continue
            for item in items:
                if self.guard.allow(item.device_id, item.occurred_at.timestamp()):
                    parsed.append(item)
                else:
                    self.stats.rejected += 1
                    log.warning("flood from %s: event %s dropped", item.device_id, item.seq)
        while True:
            try:
                result = do_ingest_events(parsed, EventSource.MQTT)
                break
            except Exception as exc:  # the database is down or busy: keep the batch, try again
                self.stats.errors.append(str(exc)[:200])
                log.exception("storing %s events failed; retrying", len(parsed))
                close_old_connections()
                if self.stop_event.wait(1.0):
                    return  # not acknowledged: the broker delivers them again
        self.stats.batches += 1
        self.stats.applied += result.applied
        self.stats.duplicates += result.duplicates
        self.stats.alerts += len(result.alerts)
        for e, why in result.rejected:
            self.stats.rejected += 1
            log.warning("event %s#%s refused: %s", e.device_id, e.seq, why)
        for msg in batch:
            if msg.qos > 0:
                self.client.ack(msg.mid, msg.qos)

    def _writer(self) -> None:
        while not self.stop_event.is_set() or not self.inbox.empty():
            batch = self._take_batch()
            if batch:
                self.process(batch)
        from django.db import connection

        connection.close()  # this thread's own connection

    # -- running -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect and run in background threads (tests, the demo); `stop()` ends them."""
        self.writer = threading.Thread(target=self._writer, name="jiedao-bridge-writer", daemon=True)
        self.writer.start()
        self.client.connect_async(self.conn["host"], self.conn["port"], keepalive=15)
        self.client.loop_start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.writer.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def run_forever(self) -> None:
        """`jiedao mqtt-bridge`: until interrupted; reconnects on its own after the broker restarts."""
        self.start()
        try:
            while True:
                time.sleep(30)
                s = self.stats
                log.info("bridge: %s messages, %s events stored, %s duplicates, %s refused, %s alerts",
                         s.messages, s.applied, s.duplicates, s.rejected, s.alerts)  # fmt: skip
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
