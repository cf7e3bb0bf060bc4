"""Access-matrix entries for core pages."""

from jiedao.core.testing import EVERY_ROLE, endpoint

endpoint("home", lambda cast: "/", EVERY_ROLE, ok=(200, 302))
endpoint("core:audit", lambda cast: "/audit/", {"command", "auditor"})
