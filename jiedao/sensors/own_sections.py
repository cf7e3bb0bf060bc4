"""Door sensors' parts of other apps' pages (registered from SensorsConfig.ready): the end hook of a
control case (sensors come off when it ends)."""

from __future__ import annotations


def register() -> None:
    from jiedao.control.hooks import register_end_hook
    from jiedao.sensors.actions import end_case_bindings

    register_end_hook(end_case_bindings)
