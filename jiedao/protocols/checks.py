"""System check: `manage.py check` (and every management command) fails on a broken protocol file
or a JIEDAO_PROTOCOL that names no protocol, instead of the first screening request failing."""

from __future__ import annotations

from typing import Any

from django.core import checks

from jiedao.core.errors import InvalidInput


@checks.register()
def check_protocols(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from jiedao.protocols import registry

    registry.clear_cache()  # read the files as they are now
    try:
        protocols = registry.all_protocols()
    except InvalidInput as exc:
        return [checks.Error(f"Invalid prevention protocol: {exc.message}", id="protocols.E001")]
    key = registry.default_protocol_key()
    if key not in protocols:
        return [
            checks.Error(
                f"JIEDAO_PROTOCOL is {key!r}, which is not a protocol.",
                hint=f"Known protocols: {', '.join(sorted(protocols))}",
                id="protocols.E002",
            )
        ]
    return []
