"""Two registration batches at the same moment on PostgreSQL (row locks and lock cycles need a real
server; SQLite runs one writer at a time): a batch that waited for another's tube lock still sees the
tube that other batch opened, and a lock cycle between them is broken and answered item by item, never
a failed batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import translation

from jiedao.nat import registration
from jiedao.nat.models import Sample, Tube
from jiedao.nat.tests.test_registration import at, key, open_item, sample_item, setup  # noqa: F401
from jiedao.registry.tests.factories import resident_id

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and lock cycles: PostgreSQL"),
]


def _pause_first(monkeypatch: pytest.MonkeyPatch, where: str) -> tuple[threading.Event, threading.Event]:
    """The thread named "first" stops inside its transaction at `where` until told to go on."""
    paused, go = threading.Event(), threading.Event()
    if where == "flush":
        real: Callable[..., Any] = registration._Batch._flush

        def flush(self: Any) -> None:
            if threading.current_thread().name == "first" and not paused.is_set():
                paused.set()
                go.wait(20)
            real(self)

        monkeypatch.setattr(registration._Batch, "_flush", flush)
    else:
        record = registration.audit.record

        def audited(**kw: Any) -> Any:
            out = record(**kw)
            if threading.current_thread().name == "first" and kw.get("action") == "nat.registrations":
                paused.set()
                go.wait(20)
            return out

        monkeypatch.setattr(registration.audit, "record", audited)
    return paused, go


def _race(s: dict[str, Any], first: list[Any], second: list[Any], paused: threading.Event, go: threading.Event) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}

    def run(name: str, items: list[Any]) -> None:
        try:
            with translation.override("en"):
                out[name] = registration.do_apply_registrations(actor=s["sampler"], items=items).items
        except Exception as exc:  # the test's finding, not a crash of the test
            out[name] = exc
        finally:
            connections.close_all()

    one = threading.Thread(target=run, args=("first", first), name="first")
    one.start()
    assert paused.wait(20)
    two = threading.Thread(target=run, args=("second", second), name="second")
    two.start()
    time.sleep(1.5)  # the second is now waiting for a lock the first holds
    go.set()
    one.join(30)
    two.join(30)
    return out


def test_a_batch_that_waited_sees_the_tube_the_other_opened(
    setup: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s, p = setup, setup["people"]
    registration.do_apply_registrations(actor=s["sampler"], items=[open_item(s, "TUBE00000T")])
    first = [sample_item(p[0], "TUBE00000T"), open_item(s, "TUBE00000X"), sample_item(p[1], "TUBE00000X")]
    second = [*first, sample_item(p[2], "TUBE00000X")]  # the phone's retry: the same queue and one more
    out = _race(s, first, second, *_pause_first(monkeypatch, "audit"))
    assert [a["status"] for a in out["first"]] == ["created"] * 3
    assert [a["status"] for a in out["second"]] == ["duplicate"] * 3 + ["created"], out["second"]
    assert Tube.objects.get(barcode="TUBE00000X").members == 2
    assert Sample.objects.filter(person=p[2], tube__barcode="TUBE00000X").count() == 1


def test_a_lock_cycle_is_answered_item_by_item(
    setup: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = setup
    # the first registers someone new (which takes the audit lock) and is then held before its writes;
    # the second opens the same tube, and waits for the audit lock with that barcode inserted
    visitor = {"key": key(), "op": "sample", "barcode": "TUBE00000X", "id_number": resident_id(),
               "name": "周来宾", "at": at()}  # fmt: skip
    out = _race(s, [open_item(s, "TUBE00000X"), visitor], [open_item(s, "TUBE00000X")],
                *_pause_first(monkeypatch, "flush"))  # fmt: skip
    assert not isinstance(out["first"], Exception) and not isinstance(out["second"], Exception), out
    statuses = sorted([a["status"] for a in out["first"]][:1] + [a["status"] for a in out["second"]])
    assert statuses == ["created", "refused"]  # the tube is opened once, by one of them
    assert Tube.objects.filter(barcode="TUBE00000X").count() == 1
    assert (
        out["first"][1]["status"] == "created"
        and Sample.objects.filter(tube__barcode="TUBE00000X").count() == 1
    )
