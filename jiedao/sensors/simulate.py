"""`jiedao sensors simulate`: realistic MQTT traffic for N door sensors (docs/sensors.md's wire format,
QoS 1), for the demo, for trying the bridge and for the benchmark.

- **Devices**: the registered ones first (those on a door before those in stock, by device ID); when more
  are asked for than are registered, the rest get made-up IDs (`SIM-<seed>-0001`, ...) that the bridge
  refuses as unknown devices — as it would a sensor nobody registered.
- **Time**: simulated time runs `rate` times faster than real time (rate 60: an hour a minute). The
  schedule follows simulated time (a heartbeat every few simulated minutes, door openings by the
  simulated hour of the day); each event is stamped with the real moment it is sent, because the
  server takes only events of now (not ahead of its clock, not days old) and judges them against real
  allowed windows.
- **A sensor on a door**: openings at realistic hours (most in the morning and the evening, few at
  night), each followed by a close a few simulated minutes later. Most openings are inside an allowed
  time (a home sampling, a delivery): when none covers the moment, the simulator grants one as the team
  would (`do_grant_window`) before the door opens. The rest (`violation_share`) happen outside any
  window and raise an alert. Occasionally a tamper.
- **Every sensor**: a heartbeat every `heartbeat_minutes` (±10 %) with its battery and signal; the
  battery drains (a few start nearly flat and cross the 20 % line), with a `battery` report when it
  crosses 30, 20 and 10 %; a few sensors (`silent_share`, at least one of ten) go silent at some moment
  and send nothing after it. A sensor the system already found silent (an open "silent sensor" alert)
  stays silent.
- **Sequence numbers** increase per device and go on from the device's last stored one.
- **Never a flood**: a device sends at most one message in any `min_gap` real seconds; what is due in
  between waits.

Deterministic for a seed: the same devices and the same real clock readings give the same messages."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from jiedao.sensors.choices import EventKind

log = logging.getLogger("jiedao.sensors.simulate")

# Relative chance of a door opening by the hour of the day: up for sampling and breakfast deliveries,
# lunch, and the evening's supplies and rubbish; little at night.
HOURLY = [0.05, 0.03, 0.02, 0.02, 0.03, 0.1, 0.4, 1.0, 1.4, 1.0, 0.8, 1.1,
          1.2, 0.7, 0.6, 0.7, 0.9, 1.3, 1.5, 1.2, 0.9, 0.6, 0.3, 0.1]  # fmt: skip
HOURLY_MEAN = sum(HOURLY) / 24
WINDOW_REASONS = ["上门采样", "社区配送生活物资", "快递外卖放门口取件", "网格员陪同倒垃圾", "医生上门随访"]
LOW_START = 0.1  # share of sensors whose battery starts nearly flat
BATTERY_MARKS = (30, 20, 10)


@dataclass
class Message:
    """One event as a sensor sends it. `allowed`: for an opening, whether the simulator meant it to be
    inside an allowed time (None for other events)."""

    device_id: str
    seq: int
    kind: str
    at: float  # real Unix time it is stamped with
    battery: int | None = None
    rssi: int | None = None
    allowed: bool | None = None
    binding_id: int | None = None

    @property
    def topic(self) -> str:
        return f"jiedao/sensors/{self.device_id}/events"

    def payload(self, tz: Any = None) -> bytes:
        stamp = dt.datetime.fromtimestamp(self.at, tz=tz or dt.UTC).isoformat(timespec="milliseconds")
        body: dict[str, Any] = {"seq": self.seq, "type": self.kind, "at": stamp}
        if self.battery is not None:
            body["battery"] = self.battery
        if self.rssi is not None:
            body["rssi"] = self.rssi
        return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class SimDevice:
    """What the simulator knows and plans for one sensor. Times named `*_at` are simulated seconds."""

    device_id: str
    binding_id: int | None = None  # on a door (the binding), or None: in stock / not registered
    registered: bool = True
    seq: int = 0  # the last one sent
    battery: float = 90.0
    drain: float = 0.02  # % per simulated hour
    rssi: int = -65
    silent_at: float | None = None  # from then on it says nothing
    rng: random.Random = field(default_factory=random.Random)
    heartbeat_at: float = 0.0
    open_at: float = math.inf
    close_at: float = math.inf
    tamper_at: float = math.inf
    ready: float = 0.0  # real time before which it sends nothing more (no floods)
    marks: set[int] = field(default_factory=set)  # battery lines it has reported crossing
    drained_to: float = 0.0  # simulated time its battery was last drained to
    dead: bool = False  # silent before the simulation began, and stays so

    @property
    def on_door(self) -> bool:
        return self.binding_id is not None


class Simulator:
    """Publishes simulated sensor traffic to the broker at `url` (see the module's docstring)."""

    def __init__(
        self,
        url: str | None = None,
        devices: int = 50,
        rate: float = 1.0,
        seed: int = 2022,
        *,
        heartbeat_minutes: float = 5.0,
        openings_per_day: float = 3.0,
        violation_share: float = 0.15,
        tamper_per_day: float = 0.02,
        silent_share: float = 0.05,
        grant_windows: bool = True,
        window_minutes: tuple[float, float] = (15, 40),
        min_gap: float = 0.25,
        tick: float = 0.1,
        client_id: str = "",
    ) -> None:
        if devices < 0:
            raise ValueError("devices must be 0 or more")
        if not rate > 0:
            raise ValueError("rate must be above 0")
        self.url = url or getattr(settings, "MQTT_URL", "") or "mqtt://127.0.0.1:1883"
        self.count = devices
        self.rate = float(rate)
        self.seed = seed
        self.heartbeat = heartbeat_minutes * 60
        self.openings_per_day = openings_per_day
        self.violation_share = violation_share
        self.tamper_per_day = tamper_per_day
        self.silent_share = silent_share
        self.grant_windows = grant_windows
        self.window_minutes = window_minutes
        self.min_gap = min_gap
        self.tick = tick
        self.client_id = client_id or f"jiedao-sim-{seed}-{random.randrange(16**6):06x}"
        self.devices: list[SimDevice] = []
        self.stats: Counter[str] = Counter()
        self.sent: list[Message] = []  # kept when `keep` is set (tests)
        self.keep = False
        self._t0: float | None = None
        self._s0 = 0.0
        self._last = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._bindings: dict[int, Any] = {}
        self._pending: list[Any] = []
        self.tz: Any = dt.timezone(dt.timedelta(hours=8))  # the subdistrict's clock (Django's TIME_ZONE)
        with contextlib.suppress(Exception):
            from django.utils import timezone

            self.tz = timezone.get_current_timezone()

    # ---- the devices ------------------------------------------------------------------------------

    def load(self) -> list[SimDevice]:
        """The registered devices first (on a door, then in stock), then made-up ones up to `devices`."""
        from django.db.models import Max
        from django.utils import timezone

        from jiedao.sensors.choices import OPEN_ALERT_STATUSES, AlertKind, DeviceStatus
        from jiedao.sensors.models import Binding, DoorSensor, SensorAlert, SensorEvent

        self.tz = timezone.get_current_timezone()
        on_door = dict(Binding.objects.filter(ends_at__isnull=True).values_list("device_id", "pk"))
        registered = list(
            DoorSensor.objects.exclude(status=DeviceStatus.RETIRED).values_list(
                "pk", "device_id", "battery", "signal"
            )
        )
        registered.sort(key=lambda r: (r[0] not in on_door, r[1]))
        chosen = registered[: self.count]
        last = dict(
            SensorEvent.objects.filter(device_id__in=[r[0] for r in chosen])
            .values("device_id")
            .annotate(m=Max("seq"))
            .values_list("device_id", "m")
        )
        # A sensor the system has found silent (an open "silent sensor" alert) is dead: it stays silent.
        dead = set(
            SensorAlert.objects.filter(kind=AlertKind.OFFLINE, status__in=OPEN_ALERT_STATUSES).values_list(
                "device_id", flat=True
            )
        )
        specs = []
        for pk, device_id, battery, signal in chosen:
            d = self.make_device(device_id, binding_id=on_door.get(pk), seq=last.get(pk) or 0, battery=battery,
                                 rssi=signal)  # fmt: skip
            d.dead = pk in dead
            specs.append(d)
        for k in range(len(specs), self.count):
            specs.append(self.make_device(f"SIM-{self.seed}-{k + 1:04d}", registered=False))
        self.use(specs)
        return self.devices

    def make_device(
        self,
        device_id: str,
        *,
        binding_id: int | None = None,
        registered: bool = True,
        seq: int = 0,
        battery: int | None = None,
        rssi: int | None = None,
    ) -> SimDevice:
        """One device with its own random stream (adding a device leaves the others' traffic as it was)."""
        rng = random.Random(f"jiedao-sim:{self.seed}:{device_id}")
        low = rng.random() < LOW_START
        start = (
            float(battery) if battery is not None else (rng.uniform(21, 24) if low else rng.uniform(55, 100))
        )
        return SimDevice(
            device_id=device_id, binding_id=binding_id, registered=registered, seq=seq, battery=start,
            marks={m for m in BATTERY_MARKS if start < m},  # it reported those before
            drain=rng.uniform(0.3, 0.6) if low or start < 25 else rng.uniform(0.005, 0.03),
            rssi=rssi if rssi is not None else rng.randint(-88, -52), rng=rng,
        )  # fmt: skip

    def use(self, devices: list[SimDevice]) -> None:
        """Simulate these devices (instead of `load()`); a few of them go silent."""
        self.devices = devices
        rng = random.Random(f"jiedao-sim:{self.seed}:silent")
        for d in devices:
            if d.dead:
                d.silent_at = 0.0
        alive = [d for d in devices if not d.dead]
        silent = round(len(alive) * self.silent_share)
        if self.silent_share > 0 and len(alive) >= 10:
            silent = max(silent, 1)
        for d in rng.sample(alive, min(silent, len(alive))):
            d.silent_at = d.rng.uniform(0.5, 12) * 3600  # within the first twelve simulated hours

    # ---- the schedule -----------------------------------------------------------------------------

    def _hour(self, sim: float) -> int:
        when = dt.datetime.fromtimestamp(self._s0 + sim, tz=self.tz)
        return when.hour

    def _next_opening(self, d: SimDevice, after: float) -> float:
        """The next opening after `after` (simulated seconds), a Poisson process thinned by the hour."""
        peak = max(HOURLY) / HOURLY_MEAN * self.openings_per_day / 86400
        if peak <= 0:
            return math.inf
        t = after
        for _ in range(10_000):
            t += d.rng.expovariate(peak)
            if d.rng.random() * max(HOURLY) <= HOURLY[self._hour(t)]:
                return t
        return math.inf

    def _plan(self, d: SimDevice) -> None:
        d.heartbeat_at = d.rng.uniform(0, self.heartbeat)  # sensors are not in step
        if d.on_door:
            d.open_at = self._next_opening(d, 0.0)
            if self.tamper_per_day > 0:
                d.tamper_at = d.rng.expovariate(self.tamper_per_day / 86400)

    def begin(self, now: float) -> None:
        """Start the clocks at real time `now`; simulated time starts at the same wall-clock moment."""
        self._t0 = self._last = now
        self._s0 = now
        for d in self.devices:
            self._plan(d)

    def real(self, sim: float) -> float:
        assert self._t0 is not None
        return self._t0 + sim / self.rate

    def sim(self, real: float) -> float:
        assert self._t0 is not None
        return (real - self._t0) * self.rate

    def advance(self, now: float) -> list[Message]:
        """Every message due up to real time `now`, in time order, each stamped with its real moment."""
        if self._t0 is None:
            self.begin(now)
        out: list[Message] = []
        horizon = self.sim(now)
        for d in self.devices:
            out.extend(self._due(d, horizon, now))
        out.sort(key=lambda m: (m.at, m.device_id, m.seq))
        self._last = now
        return out

    def _due(self, d: SimDevice, horizon: float, now: float) -> list[Message]:
        out: list[Message] = []
        while True:
            nxt = min(d.heartbeat_at, d.open_at, d.close_at, d.tamper_at)
            if nxt > horizon:
                break
            if d.silent_at is not None and nxt >= d.silent_at:
                break  # gone silent: nothing more from it, ever
            at = max(self.real(nxt), d.ready)
            if at > now:
                break  # it sent something a moment ago: this one waits for the next tick
            self._drain(d, nxt)
            if nxt == d.close_at:
                d.close_at = math.inf
                out.append(self._message(d, EventKind.DOOR_CLOSE, at))
            elif nxt == d.open_at:
                allowed = d.rng.random() >= self.violation_share
                out.append(self._message(d, EventKind.DOOR_OPEN, at, allowed=allowed))
                d.close_at = nxt + d.rng.uniform(20, 240)
                d.open_at = self._next_opening(d, d.close_at)
            elif nxt == d.tamper_at:
                out.append(self._message(d, EventKind.TAMPER, at))
                d.tamper_at = nxt + d.rng.expovariate(self.tamper_per_day / 86400)
            else:
                mark = next((m for m in BATTERY_MARKS if d.battery < m and m not in d.marks), None)
                if mark is not None:
                    d.marks.add(mark)
                    out.append(self._message(d, EventKind.BATTERY, at))
                else:
                    out.append(self._message(d, EventKind.HEARTBEAT, at))
                # a burst of missed heartbeats (a high rate) is not sent: the next one is due from now
                d.heartbeat_at = max(nxt, horizon - self.heartbeat) + self.heartbeat * d.rng.uniform(0.9, 1.1)
            d.ready = at + self.min_gap
        return out

    def _drain(self, d: SimDevice, sim: float) -> None:
        hours = max(0.0, sim - d.drained_to) / 3600
        d.drained_to = sim
        d.battery = max(0.0, d.battery - d.drain * hours)
        d.rssi = max(-120, min(-30, d.rssi + d.rng.choice((-1, 0, 0, 1))))

    def _message(self, d: SimDevice, kind: str, at: float, allowed: bool | None = None) -> Message:
        d.seq += 1
        self.stats[kind] += 1
        if allowed is not None:
            self.stats["openings_allowed" if allowed else "openings_outside"] += 1
        return Message(
            device_id=d.device_id, seq=d.seq, kind=kind, at=at, battery=int(d.battery), rssi=d.rssi,
            allowed=allowed, binding_id=d.binding_id,
        )  # fmt: skip

    # ---- allowed windows --------------------------------------------------------------------------

    def ensure_window(self, m: Message) -> bool:
        """Before an opening meant to be allowed: a window covers its moment (the team granted one if
        none did). False if that could not be done (the sensor came off the door): no opening then."""
        from django.core.exceptions import ObjectDoesNotExist
        from django.db import DatabaseError

        from jiedao.core.errors import Conflict, InvalidInput
        from jiedao.sensors.actions import do_grant_window, is_allowed
        from jiedao.sensors.models import Binding

        if m.binding_id is None:
            return False
        at = dt.datetime.fromtimestamp(m.at, tz=dt.UTC)
        for attempt in range(5):
            try:
                binding = self._bindings.get(m.binding_id)
                if binding is None:
                    binding = self._bindings[m.binding_id] = Binding.objects.get(pk=m.binding_id)
                if is_allowed(binding, at):
                    return True
                rng = random.Random(f"{self.seed}:{m.device_id}:{m.seq}")
                lo, hi = self.window_minutes
                do_grant_window(
                    actor=None, binding=binding, starts_at=at - dt.timedelta(minutes=lo / 10),
                    ends_at=at + dt.timedelta(minutes=rng.uniform(lo, hi)), reason=rng.choice(WINDOW_REASONS),
                )  # fmt: skip
                self.stats["windows_granted"] += 1
                return True
            except (Conflict, InvalidInput, ObjectDoesNotExist):
                return False
            except DatabaseError:  # busy (SQLite): try again in a moment
                time.sleep(0.05 * (attempt + 1))
        return False

    # ---- publishing -------------------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> None:
        import paho.mqtt.client as mqtt

        from jiedao.sensors.bridge import parse_url

        conn = parse_url(self.url)
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id,
            protocol=mqtt.MQTTv311, clean_session=True,
        )  # fmt: skip
        if conn["username"]:
            client.username_pw_set(conn["username"], conn["password"])
        if conn["tls"]:
            client.tls_set()
        client.max_queued_messages_set(0)
        connected = threading.Event()
        client.on_connect = lambda *a: connected.set()
        client.connect(conn["host"], conn["port"], keepalive=30)
        client.loop_start()
        if not connected.wait(timeout):
            client.loop_stop()
            raise ConnectionError(f"no answer from the MQTT broker at {self.url}")
        self._client = client

    def publish(self, messages: list[Message]) -> int:
        """Send the messages (openings meant to be allowed get their window first); returns how many."""
        sent = 0
        for m in messages:
            if (
                m.kind == EventKind.DOOR_OPEN
                and m.allowed
                and self.grant_windows
                and not self.ensure_window(m)
            ):
                self.stats["openings_skipped"] += 1
                continue
            info = self._client.publish(m.topic, m.payload(self.tz), qos=1)
            self._pending.append(info)
            sent += 1
            self.stats["published"] += 1
            if self.keep:
                self.sent.append(m)
        self._pending = [i for i in self._pending if not i.is_published()]
        return sent

    def step(self, now: float | None = None) -> int:
        return self.publish(self.advance(time.time() if now is None else now))

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self._stop.is_set():
                try:
                    self.step()
                except Exception:  # a broken step must not end the traffic: log it and go on
                    self.stats["errors"] += 1
                    log.exception("simulator step failed")
                self._stop.wait(self.tick)
        finally:
            connection.close()

    def start(self) -> None:
        """Connect and publish in a background thread until `stop()`."""
        if not self.devices:
            self.load()
        self.connect()
        self.begin(time.time())
        self._thread = threading.Thread(target=self._run, name="jiedao-sensor-sim", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop publishing; wait (up to `timeout`) until the broker has taken every message sent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._client is not None:
            deadline = time.monotonic() + timeout
            for info in self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(left)
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def describe(self) -> str:
        on_door = sum(d.on_door for d in self.devices)
        unknown = sum(not d.registered for d in self.devices)
        return (
            f"{len(self.devices)} sensors ({on_door} on doors, {len(self.devices) - on_door - unknown} in stock, "
            f"{unknown} not registered) → {self.url}, time ×{self.rate:g}"
        )

    def summary(self) -> str:
        s = self.stats
        return (
            f"{s['published']:,} events published: {s['heartbeat']:,} heartbeats, {s['door_open']:,} openings "
            f"({s['openings_outside']:,} outside allowed times), {s['door_close']:,} closes, {s['tamper']} tampers, "
            f"{s['battery']} battery reports; {s['windows_granted']} windows granted"
        )


def simulate_cli(args: Any) -> int:
    """`jiedao sensors simulate --url --devices --seconds --rate --seed`."""
    sim = Simulator(args.url or None, devices=args.devices, rate=args.rate, seed=args.seed)
    sim.load()
    print(f"simulating {sim.describe()}", flush=True)
    unknown = sum(not d.registered for d in sim.devices)
    if unknown:
        print(
            f"  {unknown} of them are not registered: the bridge refuses their events (register them first)."
        )
    try:
        sim.start()
    except (OSError, ConnectionError) as exc:
        print(f"cannot reach the MQTT broker at {sim.url}: {exc}")
        return 1
    began = time.monotonic()
    try:
        next_note = 10.0
        while args.seconds <= 0 or time.monotonic() - began < args.seconds:
            time.sleep(0.2)
            if time.monotonic() - began >= next_note:
                print(f"  {time.monotonic() - began:.0f}s: {sim.summary()}", flush=True)
                next_note += 10.0
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    print(sim.summary(), flush=True)
    return 0


__all__ = ["Message", "SimDevice", "Simulator", "simulate_cli"]
