"""Access-matrix entries for the protocols page: read-only, the same for every role, no area."""

from __future__ import annotations

from jiedao.core.testing import EVERY_ROLE, endpoint

endpoint("protocols:list", lambda cast: "/protocols/", EVERY_ROLE)
