from __future__ import annotations

import pytest
from django.db import connection, transaction

from jiedao.core import audit
from jiedao.core.crypto import blind_index, decrypt, encrypt
from jiedao.core.models import AppendOnlyError, AuditEntry


def test_encrypt_round_trip_and_randomised() -> None:
    a, b = encrypt("11010519491231002X"), encrypt("11010519491231002X")
    assert a != b  # fresh nonce each time
    assert "11010519491231002X" not in a
    assert decrypt(a) == decrypt(b) == "11010519491231002X"


def test_tampered_ciphertext_is_refused() -> None:
    token = encrypt("13800138000")
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(Exception):  # noqa: B017 - cryptography raises InvalidTag
        decrypt(flipped)


def test_blind_index_is_deterministic_and_kind_separated() -> None:
    assert blind_index("id", "x") == blind_index("id", "x")
    assert blind_index("id", "x") != blind_index("phone", "x")
    assert blind_index("id", "") == ""


@pytest.mark.django_db
def test_chain_verifies_and_detects_tampering(cast) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        audit.record(actor=cast["command"], action="test.act", object_type="x", object_id=i, changes={"n": i})
    ok, broken = audit.verify_chain()
    assert ok and broken is None
    entries = list(AuditEntry.objects.order_by("id"))
    assert entries[1].prev_hash == entries[0].hash
    assert entries[0].actor_label == "command"
    # the model refuses edits
    with pytest.raises(AppendOnlyError):
        entries[2].save()
    with pytest.raises(AppendOnlyError):
        entries[2].delete()
    # and so does the database itself
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 - the driver's own error type
        with connection.cursor() as cur:
            cur.execute("UPDATE core_auditentry SET reason = 'x' WHERE id = %s", [entries[2].id])


@pytest.mark.django_db
def test_chain_detects_an_edit_made_behind_the_triggers(cast) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        audit.record(actor=None, action="test.act", object_type="x", object_id=i)
    target = AuditEntry.objects.order_by("id")[1]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Django's deferred FK checks leave trigger events pending, which ALTER TABLE refuses.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_no_change")
            cur.execute("UPDATE core_auditentry SET reason = 'forged' WHERE id = %s", [target.id])
            cur.execute("ALTER TABLE core_auditentry ENABLE TRIGGER core_auditentry_no_change")
        else:
            cur.execute("DROP TRIGGER core_auditentry_no_update")
            cur.execute("UPDATE core_auditentry SET reason = 'forged' WHERE id = %s", [target.id])
    ok, broken = audit.verify_chain()
    assert not ok and broken == target.id
