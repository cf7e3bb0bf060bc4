"""The audit log: every action writes one hash-chained, append-only entry."""

from __future__ import annotations

import contextvars
import hashlib
import json
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from jiedao.core.models import AuditEntry

GENESIS = "0" * 64
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("jiedao_request_id", default="")
_LOCK_KEY = 0x6A696564  # "jied": the advisory lock that serialises the chain on PostgreSQL


def _digest(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "changes": entry.changes,
        "reason": entry.reason,
        "request_id": entry.request_id,
    }


def record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    reason: str = "",
    object_type: str = "",
    object_id: str | int = "",
) -> AuditEntry:
    """Append an entry. Call inside the action's transaction so the entry and the change commit together."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    user = actor if getattr(actor, "pk", None) and getattr(actor, "is_authenticated", False) else None
    label = getattr(actor, "username", "") if user else (str(actor) if actor else "system")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        entry = AuditEntry(
            at=timezone.now(),
            actor=user,
            actor_label=label[:150],
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            changes=json.loads(json.dumps(changes or {}, default=str)),
            reason=reason,
            request_id=request_id_var.get(),
            prev_hash=last or GENESIS,
        )
        entry.hash = _digest(entry.prev_hash, _fields(entry))
        entry.save()
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Changed fields as {name: [old, new]}."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def verify_chain() -> tuple[bool, int | None]:
    """Walk the chain in order; return (ok, id of the first broken entry)."""
    prev = GENESIS
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.prev_hash != prev or entry.hash != _digest(prev, _fields(entry)):
            return False, entry.id
        prev = entry.hash
    return True, None


# Human labels for action codes, registered by each app so that history lists read as sentences.
_ACTION_LABELS: dict[str, Any] = {}


def register_action_labels(labels: dict[str, Any]) -> None:
    _ACTION_LABELS.update(labels)


def action_label(code: str) -> str:
    label = _ACTION_LABELS.get(code)
    return str(label) if label is not None else code
