"""Personal data at rest: AES-GCM field encryption and an HMAC-SHA256 blind index for exact lookup.

Keys derive from JIEDAO_FIELD_KEY with HKDF, one per purpose, so the index key cannot decrypt."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

_PREFIX = "v1:"


def _derive(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"jiedao", info=purpose).derive(settings.FIELD_KEY)


@functools.cache
def _aead() -> AESGCM:
    return AESGCM(_derive(b"field-encryption"))


@functools.cache
def _index_key() -> bytes:
    return _derive(b"blind-index")


def encrypt(plain: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, plain.encode("utf-8"), None)
    return _PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt(token: str) -> str:
    if not token.startswith(_PREFIX):
        raise ValueError("not an encrypted field value")
    raw = base64.b64decode(token[len(_PREFIX) :])
    return _aead().decrypt(raw[:12], raw[12:], None).decode("utf-8")


def blind_index(kind: str, value: str) -> str:
    """Deterministic keyed digest of a normalised value: equal inputs give equal indexes, and the index
    reveals nothing without the key. `kind` separates ID numbers from phones."""
    if not value:
        return ""
    mac = hmac.new(_index_key(), f"{kind}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


class EncryptedTextField(models.TextField):
    """A text field stored AES-GCM encrypted; reads return the plain text. Not filterable: search
    through the blind-index column beside it."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))
