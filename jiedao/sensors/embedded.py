"""The embedded default for door sensors: an in-process MQTT broker (amqtt) on 127.0.0.1, so that
`jiedao demo` shows live door alerts with no server to install. `start_live_sensors()` runs the broker,
the bridge and the simulator in background threads of the demo's own process.

Production uses Mosquitto (MQTT_URL) and `jiedao mqtt-bridge`; this broker keeps its sessions in memory
only, so it is for the demo and for tests, not for real sensors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from amqtt.plugins.base import BaseAuthPlugin

log = logging.getLogger("jiedao.sensors.embedded")


class OpenAuth(BaseAuthPlugin):
    """Every client may connect (the broker listens on 127.0.0.1 only). Unlike amqtt's anonymous plugin
    it does not mark sessions anonymous, which amqtt would drop on disconnect: the bridge's persistent
    session, and the QoS 1 messages queued for it while it reconnects, are kept."""

    @dataclass
    class Config:
        pass

    async def authenticate(self, *, session: Any) -> bool:
        return True


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    """amqtt's broker in a thread with its own event loop, listening on `host:port` (0: a free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.broker: Any = None
        self.thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        """Listen, or raise (OSError when the port is taken)."""
        # amqtt logs every connection at INFO; the demo's console has better things to show.
        for name in ("amqtt", "transitions"):  # transitions: the state machines amqtt's sessions run on
            chatty = logging.getLogger(name)
            if chatty.level == logging.NOTSET:
                chatty.setLevel(logging.WARNING)
        self.thread = threading.Thread(target=self._run, name="jiedao-mqtt-broker", daemon=True)
        self.thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the embedded MQTT broker did not start on {self.host}:{self.port}")
        if self._error is not None:
            self.thread.join(timeout)
            cause = self._error.__cause__ or self._error
            raise OSError(
                f"the embedded MQTT broker cannot listen on {self.host}:{self.port}: {cause}"
            ) from cause
        return self

    def _run(self) -> None:
        from amqtt.broker import Broker

        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)

        async def boot() -> None:
            self.broker = Broker(
                {
                    "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                    "plugins": {f"{__name__}.OpenAuth": {}},
                }
            )
            await self.broker.start()

        try:
            loop.run_until_complete(boot())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        loop, broker = self.loop, self.broker
        if loop is None or broker is None or loop.is_closed():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        if self.thread is not None:
            self.thread.join(timeout)
        self.broker = None


@dataclass
class LiveSensors:
    """What `start_live_sensors` started; `stop()` ends it all (simulator, bridge, then broker)."""

    url: str
    bridge: Any
    simulator: Any
    broker: EmbeddedBroker | None = None
    watch_every: float = 60.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    def watch(self) -> None:
        """Every minute, what the Huey worker would do: sensors gone silent raise their alert."""
        self._watcher = threading.Thread(target=self._watch, name="jiedao-sensor-watch", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        from django.db import close_old_connections, connection

        from jiedao.sensors.actions import do_flag_silent_sensors

        try:
            while not self._stop.wait(self.watch_every):
                try:
                    for alert in do_flag_silent_sensors():
                        log.info("sensor %s is silent: alert %s", alert.device_id, alert.pk)
                except Exception:  # the database was busy: next minute
                    log.exception("checking for silent sensors failed")
                    close_old_connections()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            self.simulator.stop()
        with contextlib.suppress(Exception):
            self.bridge.stop()
        if self._watcher is not None:
            self._watcher.join(5)
        if self.broker is not None:
            self.broker.stop()

    def describe(self) -> str:
        where = f"in-process broker at {self.url}" if self.broker else self.url
        return f"{where}; bridge and simulator of {self.simulator.describe()}"


def start_live_sensors(
    devices: int = 60,
    rate: float = 60.0,
    *,
    seed: int = 2022,
    url: str | None = None,
    port: int = 0,
    client_id: str = "jiedao-demo-bridge",
    watch: bool = True,
) -> LiveSensors:
    """Start live door-sensor traffic in this process: an embedded broker on 127.0.0.1:`port` (a free one
    when 0; none when `url` names a broker), the bridge storing what it hears, and the simulator
    publishing for `devices` sensors at `rate` times real time. Returns a handle with `stop()`."""
    from jiedao.sensors.bridge import Bridge
    from jiedao.sensors.simulate import Simulator

    broker = None if url else EmbeddedBroker(port=port).start()
    target = url or (broker.url if broker else "")
    bridge = None
    try:
        bridge = Bridge(target, client_id=client_id)
        bridge.start()
        if not bridge.connected.wait(10):
            raise ConnectionError(f"the bridge could not connect to {target}")
        simulator = Simulator(target, devices=devices, rate=rate, seed=seed)
        simulator.load()
        simulator.start()
    except BaseException:
        if bridge is not None:
            with contextlib.suppress(Exception):
                bridge.stop()
        if broker is not None:
            broker.stop()
        raise
    live = LiveSensors(url=target, bridge=bridge, simulator=simulator, broker=broker)
    if watch:
        live.watch()
    return live
