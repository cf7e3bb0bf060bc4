"""The sensor simulator: its schedule on a fake clock (deterministic, monotonic seq per device, heartbeats
every few simulated minutes, openings by the hour of the day and mostly inside allowed times, tamper,
battery drain, silent sensors, never a flood), the devices it picks from the register, and a few
seconds of its traffic through a real Mosquitto and the bridge into the database."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from jiedao.sensors import actions
from jiedao.sensors.choices import AlertKind, EventKind, EventSource
from jiedao.sensors.events import EventIn, parse_message
from jiedao.sensors.models import AllowedWindow, SensorAlert, SensorEvent
from jiedao.sensors.simulate import Message, Simulator
from jiedao.sensors.tests.helpers import bound
from jiedao.sensors.tests.test_bridge import Mosquitto, Running, bridges, mosquitto, unique, wait_for

__all__ = ["bridges", "mosquitto"]  # fixtures used below

T0 = 1_764_374_400.0  # 2025-11-29 08:00 in Shanghai: a fixed real clock for the schedule tests


def run_schedule(sim: Simulator, real_seconds: float, tick: float = 0.5) -> list[tuple[float, Message]]:
    """Advance a simulator on a fake clock; (the tick it came out at, message) for everything due."""
    out = []
    sim.begin(T0)
    now = T0
    while now < T0 + real_seconds:
        now += tick
        out.extend((now, m) for m in sim.advance(now))
    return out


def schedule_sim(seed: int = 7, **kw: Any) -> Simulator:
    """Ten sensors, eight on doors (one with a nearly flat battery), simulated 600× faster."""
    options = dict(rate=600, seed=seed, grant_windows=False, tamper_per_day=0.5) | kw
    sim = Simulator("mqtt://127.0.0.1:1", devices=0, **options)
    devices = [sim.make_device(f"D{i}", binding_id=i + 1 if i < 8 else None) for i in range(9)]
    devices.append(sim.make_device("D9", binding_id=9, battery=22))
    sim.use(devices)
    return sim


@pytest.fixture(scope="module")
def ten_days() -> tuple[Simulator, list[tuple[float, Message]]]:
    sim = schedule_sim()
    return sim, run_schedule(sim, 10 * 86400 / sim.rate)


def test_the_schedule_is_deterministic_for_a_seed(ten_days: Any) -> None:
    sim, got = ten_days
    again = run_schedule(schedule_sim(), 10 * 86400 / sim.rate)
    assert [(t, vars(m)) for t, m in got] == [(t, vars(m)) for t, m in again]
    other = run_schedule(schedule_sim(seed=8), 10 * 86400 / sim.rate)
    assert [vars(m) for _t, m in got] != [vars(m) for _t, m in other]


def test_each_device_counts_its_seq_up_and_never_floods(ten_days: Any) -> None:
    sim, got = ten_days
    by_device: dict[str, list[tuple[float, Message]]] = defaultdict(list)
    for tick, m in got:
        assert m.at <= tick  # stamped with a moment that has come, never ahead
        assert tick - m.at <= 0.5 + 1e-6  # and sent at the next tick
        by_device[m.device_id].append((tick, m))
    assert set(by_device) == {f"D{i}" for i in range(10)}
    for items in by_device.values():
        seqs = [m.seq for _t, m in items]
        assert seqs == list(range(1, len(seqs) + 1))
        stamps = [m.at for _t, m in items]
        assert all(b - a >= sim.min_gap - 1e-9 for a, b in itertools.pairwise(stamps))
    # what goes on the wire is the documented format, and the server reads it back as it was meant
    tick, m = got[-1]
    parsed = parse_message(
        m.topic, m.payload(sim.tz), now=timezone.make_aware(dt.datetime.fromtimestamp(tick))
    )
    assert parsed == [
        EventIn(m.device_id, m.seq, m.kind, parsed[0].occurred_at, battery=m.battery, signal=m.rssi)
    ]
    assert abs(parsed[0].occurred_at.timestamp() - m.at) < 0.001
    assert json.loads(m.payload(sim.tz))["at"].endswith("+08:00")


def test_heartbeats_every_few_simulated_minutes_and_the_battery_drains(ten_days: Any) -> None:
    sim, got = ten_days
    silent = {d.device_id for d in sim.devices if d.silent_at is not None}
    for d in sim.devices:
        if d.device_id in silent:
            continue
        beats = [m for _t, m in got if m.device_id == d.device_id and m.kind in ("heartbeat", "battery")]
        gaps = [sim.sim(b.at) - sim.sim(a.at) for a, b in itertools.pairwise(beats)]
        assert len(beats) > 2500  # ten days of one every ~5 minutes: 2,880
        assert 4.4 * 60 <= sorted(gaps)[len(gaps) // 2] <= 5.6 * 60
        levels = [m.battery for _t, m in got if m.device_id == d.device_id]
        assert levels == sorted(levels, reverse=True)  # it only drains
    flat = [m for _t, m in got if m.device_id == "D9"]
    reports = [m for m in flat if m.kind == "battery"]
    assert [m.battery for m in reports][:1] and reports[0].battery < 30
    assert any(m.battery < 20 for m in reports)  # it reported crossing the 20 % line
    assert flat[0].battery >= 21 and flat[-1].battery < 10


def test_sensors_on_doors_open_at_realistic_hours_mostly_inside_allowed_times(ten_days: Any) -> None:
    sim, got = ten_days
    opens = [m for _t, m in got if m.kind == EventKind.DOOR_OPEN]
    assert {m.device_id for m in opens} <= {f"D{i}" for i in range(8)} | {"D9"}  # D8 is in stock
    assert len(opens) > 100  # ~3 a day each
    hours = Counter(dt.datetime.fromtimestamp(sim.sim(m.at) + T0, tz=sim.tz).hour for m in opens)
    day = sum(n for h, n in hours.items() if 7 <= h <= 21)
    night = sum(n for h, n in hours.items() if h <= 4)
    assert day > 10 * max(night, 1)
    outside = sum(not m.allowed for m in opens) / len(opens)
    assert 0.05 <= outside <= 0.3  # most openings are inside an allowed time
    assert all(m.allowed is None for _t, m in got if m.kind != EventKind.DOOR_OPEN)
    # every opening is followed by its close before the door opens again
    for d in sim.devices:
        doors = [
            m.kind for _t, m in got if m.device_id == d.device_id and m.kind in ("door_open", "door_close")
        ]
        assert all(a != b for a, b in itertools.pairwise(doors)), d.device_id
        assert not doors or doors[0] == "door_open"
    tampers = Counter(m.device_id for _t, m in got if m.kind == EventKind.TAMPER)
    assert tampers and set(tampers) <= {m.device_id for m in opens}


def test_a_few_sensors_go_silent_for_good(ten_days: Any) -> None:
    sim, got = ten_days
    silent = [d for d in sim.devices if d.silent_at is not None]
    assert len(silent) == 1  # 5 % of ten, and at least one
    d = silent[0]
    last = max(m.at for _t, m in got if m.device_id == d.device_id)
    assert last <= sim.real(d.silent_at or math.inf) and sim.sim(last) < 12 * 3600
    others = [max(m.at for _t, m in got if m.device_id == o.device_id) for o in sim.devices if o is not d]
    assert min(others) > T0 + 9 * 86400 / sim.rate  # the others talk to the end


def test_a_high_rate_skips_missed_heartbeats_rather_than_bursting() -> None:
    sim = schedule_sim(rate=36_000, tamper_per_day=0)
    got = run_schedule(sim, 10, tick=1.0)  # 100 simulated hours in 10 s
    per_device_tick = Counter((t, m.device_id) for t, m in got)
    assert max(per_device_tick.values()) <= 1 / sim.min_gap


# ---- with the register, a broker and the bridge -------------------------------------------------


@pytest.mark.django_db
def test_registered_devices_come_first_and_seq_goes_on_from_the_stored_one(cast: Any) -> None:
    on_door = bound(cast, device_id="A-DOOR")
    in_stock, _secret = actions.do_register_device(actor=None, device_id="0-STOCK", vendor="海康")
    actions.do_ingest_events(
        [EventIn("A-DOOR", 41, "heartbeat", timezone.now())], EventSource.MQTT
    )  # an event from before
    sim = Simulator("mqtt://127.0.0.1:1", devices=4, seed=3)
    devices = sim.load()
    assert [(d.device_id, d.binding_id, d.registered) for d in devices] == [
        ("A-DOOR", on_door.pk, True), ("0-STOCK", None, True), ("SIM-3-0003", None, False), ("SIM-3-0004", None, False),
    ]  # fmt: skip
    assert devices[0].seq == 41 and devices[1].seq == 0
    sim.begin(T0)
    first = next(m for m in sim.advance(T0 + 3600) if m.device_id == "A-DOOR")
    assert first.seq == 42
    assert "2 on doors" not in sim.describe() and "1 on doors, 1 in stock, 2 not registered" in sim.describe()
    assert in_stock.device_id == "0-STOCK"


@pytest.mark.usefixtures("flushable_audit_log")
def test_simulated_traffic_through_mosquitto_and_the_bridge(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running]
) -> None:
    """A few seconds of traffic, 600× time, through a real Mosquitto: every event of a registered sensor
    stored once, the unregistered one's refused, an alert for each opening outside allowed times and
    none for the others (the simulator granted their windows: here of under a second, so that later
    openings fall outside them again)."""
    on_doors = [bound(cast, device_id=unique("DS")) for _ in range(3)]
    actions.do_register_device(actor=None, device_id=unique("STOCK"), vendor="海康")
    bridge = bridges(mosquitto.url).start()
    sim = Simulator(
        mosquitto.url, devices=5, rate=600, seed=11, openings_per_day=100, violation_share=0.5, tamper_per_day=0,
        silent_share=0, window_minutes=(0.005, 0.01),
    )  # fmt: skip
    sim.keep = True
    sim.load()
    sim.start()
    time.sleep(6)

    def both_kinds_of_opening() -> bool:
        opens = [
            m for m in list(sim.sent) if m.kind == EventKind.DOOR_OPEN and not m.device_id.startswith("SIM-")
        ]
        return any(m.allowed for m in opens) and any(not m.allowed for m in opens)

    # on a loaded machine the simulator may need longer than six seconds to send both kinds of opening
    wait_for(both_kinds_of_opening, 60, "the simulator to send allowed and forbidden openings")
    sim.stop()
    sent = list(sim.sent)
    wait_for(lambda: bridge.stats.messages >= len(sent), 20, "the bridge to take every message")
    bridge.stop()
    registered = [m for m in sent if not m.device_id.startswith("SIM-")]
    unknown = [m for m in sent if m.device_id.startswith("SIM-")]
    assert len(unknown) > 0 and bridge.stats.rejected == len(unknown)
    assert bridge.stats.duplicates == 0
    # Two writers (the bridge, the simulator granting windows) on the test's in-memory SQLite may meet a
    # table lock; the bridge then retries its batch, which is what it is for.
    assert all("locked" in e for e in bridge.stats.errors), bridge.stats.errors
    stored = set(SensorEvent.objects.values_list("device__device_id", "seq", "kind"))
    assert stored == {(m.device_id, m.seq, m.kind) for m in registered}
    opens = [m for m in registered if m.kind == EventKind.DOOR_OPEN]
    assert any(m.allowed for m in opens) and any(not m.allowed for m in opens)
    assert sim.stats["windows_granted"] >= 1 and AllowedWindow.objects.count() == sim.stats["windows_granted"]

    def covered(m: Message) -> bool:
        at = dt.datetime.fromtimestamp(m.at, tz=dt.UTC)
        return AllowedWindow.objects.filter(
            binding_id=m.binding_id, starts_at__lte=at, ends_at__gte=at
        ).exists()

    alerts = set(
        SensorAlert.objects.filter(kind=AlertKind.DOOR_OPEN).values_list("device__device_id", "event__seq")
    )
    outside = {(m.device_id, m.seq) for m in opens if not m.allowed}
    never_covered = {(m.device_id, m.seq) for m in opens if not m.allowed and not covered(m)}
    assert all(covered(m) for m in opens if m.allowed)
    # Every opening no window ever covered raised its alert; no opening inside a window did. (An opening
    # outside allowed times may still fall in a window granted a moment before for another one.)
    assert never_covered <= alerts <= outside and never_covered
    assert {b.device.device_id for b in on_doors} >= {d for d, _s in alerts}


@pytest.mark.usefixtures("flushable_audit_log")
def test_the_command_publishes_for_a_while_and_says_what_it_sent(
    cast: Any, mosquitto: Mosquitto, bridges: Callable[..., Running], capsys: Any
) -> None:
    import argparse

    from jiedao.sensors.simulate import simulate_cli

    binding = bound(cast, device_id=unique("DS"))
    bridge = bridges(mosquitto.url).start()
    args = argparse.Namespace(url=mosquitto.url, devices=2, seconds=1.5, rate=600.0, seed=5)
    assert simulate_cli(args) == 0
    out = capsys.readouterr().out
    assert "simulating 2 sensors (1 on doors, 0 in stock, 1 not registered)" in out
    assert "1 of them are not registered" in out and "events published" in out
    wait_for(lambda: bridge.stats.applied >= 1, what="the simulated events")
    bridge.stop()
    assert SensorEvent.objects.filter(device=binding.device).exists()


@pytest.mark.django_db
def test_the_command_says_so_when_there_is_no_broker(capsys: Any) -> None:
    import argparse

    from jiedao.sensors.simulate import simulate_cli
    from jiedao.sensors.tests.test_bridge import free_port

    args = argparse.Namespace(url=f"mqtt://127.0.0.1:{free_port()}", devices=1, seconds=1, rate=1.0, seed=5)
    assert simulate_cli(args) == 1
    assert "cannot reach the MQTT broker at mqtt://127.0.0.1:" in capsys.readouterr().out
