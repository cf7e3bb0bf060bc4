"""Access-matrix entries for door sensors' pages and endpoints."""

from __future__ import annotations

from jiedao.core.testing import public

# The webhook needs no account: its HMAC signature is the key (tests in test_webhook.py).
public("api:post_events")
