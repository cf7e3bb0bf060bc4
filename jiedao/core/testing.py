"""The test harness every app uses: a fixed cast, the access matrix, and query counting.

- `build_cast()` makes subdistrict S with communities A and B, grids A1, A2 (in A) and B1 (in B), and
  one user per role in A and in B (grid-level roles sit in grids A1 / B1), a second grid worker in A2,
  command and auditor for the whole subdistrict, and an outsider with no role. Password: CAST_PASSWORD.
- `endpoint(...)` registers a page or API endpoint with the access matrix; the matrix test in
  core/tests/test_access_matrix.py runs every registered endpoint for every cast member and fails for
  any URL that is not registered.
- `count_queries(fn)` / `assert_no_per_row_queries(...)` catch a query per row on list pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

CAST_PASSWORD = "cast-pass-2022"

# Roles that sit at grid level in the cast; the others sit at community level.
GRID_LEVEL_ROLES = ("grid_worker", "volunteer", "sampler")
COMMUNITY_ROLES = (
    "community_staff", "grid_worker", "doctor", "police", "volunteer", "inspector", "pharmacy_clerk",
    "sampler", "enterprise_liaison",
)  # fmt: skip


@dataclass
class Cast:
    subdistrict: Any
    community_a: Any
    community_b: Any
    grid_a1: Any
    grid_a2: Any
    grid_b1: Any
    users: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.users[key]

    @property
    def keys(self) -> list[str]:
        return list(self.users)


def build_cast() -> Cast:
    from jiedao.org.models import Community, Grid, RoleAssignment, Subdistrict, User

    s = Subdistrict.objects.create(name="测试街道", code="T")
    a = Community.objects.create(subdistrict=s, name="甲社区", code="TA")
    b = Community.objects.create(subdistrict=s, name="乙社区", code="TB")
    a1 = Grid.objects.create(community=a, name="甲一网格", code="TA1")
    a2 = Grid.objects.create(community=a, name="甲二网格", code="TA2")
    b1 = Grid.objects.create(community=b, name="乙一网格", code="TB1")
    cast = Cast(s, a, b, a1, a2, b1)

    def make(key: str, role: str | None, level: str = "", community: Any = None, grid: Any = None) -> None:
        u = User(username=key, display_name=key)
        u.set_password(CAST_PASSWORD)
        u.save()
        if role:
            RoleAssignment.objects.create(
                user=u, role=role, level=level, subdistrict=s if level == "subdistrict" else None,
                community=community if level in ("community", "grid") else None, grid=grid,
            )  # fmt: skip
        cast.users[key] = u

    make("command", "command", "subdistrict")
    make("auditor", "auditor", "subdistrict")
    for role in COMMUNITY_ROLES:
        for suffix, comm, grid in (("a", a, a1), ("b", b, b1)):
            if role in GRID_LEVEL_ROLES:
                make(f"{role}_{suffix}", role, "grid", comm, grid)
            else:
                make(f"{role}_{suffix}", role, "community", comm)
    make("grid_worker_a2", "grid_worker", "grid", a, a2)
    make("outsider", None)
    return cast


@dataclass
class Endpoint:
    """One URL in the access matrix.

    `build(cast)` creates whatever the URL needs (inside community A, grid A1) and returns the path.
    `allowed` lists cast keys that must succeed; every other signed-in cast member must get 403 or 404,
    and a member whose role is allowed in A but who sits in B (or in grid A2) must get exactly 404.
    `data(cast)` gives a POST body; `ok` the statuses that count as success."""

    name: str
    build: Callable[[Cast], str]
    allowed: set[str]
    method: str = "get"
    data: Callable[[Cast], dict[str, Any]] | None = None
    ok: tuple[int, ...] = (200,)
    api: bool = False
    content_type: str | None = None


ENDPOINTS: dict[str, Endpoint] = {}
# URL names that need no sign-in or are not scoped (health, login, static API docs, ...).
PUBLIC: set[str] = {
    "healthz",
    "org:login",
    "org:logout",
    "set_language",
    "api:openapi-json",
    "api:openapi-view",
    "api:api-root",
}


def endpoint(name: str, build: Callable[[Cast], str], allowed: set[str] | list[str], **kw: Any) -> Endpoint:
    ep = Endpoint(name=name, build=build, allowed=set(allowed), **kw)
    key = f"{name}#{kw.get('method', 'get')}"
    ENDPOINTS[key] = ep
    return ep


def public(*names: str) -> None:
    PUBLIC.update(names)


# Everyone signed in with any role (for pages any staff member may open).
EVERY_ROLE = {
    "command", "auditor", "grid_worker_a2",
    *(f"{r}_{s}" for r in COMMUNITY_ROLES for s in ("a", "b")),
}  # fmt: skip


def count_queries(fn: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def assert_no_per_row_queries(
    fetch: Callable[[], Any], add_rows: Callable[[int], Any], extra: int = 20
) -> None:
    """Fetch once, add `extra` rows, fetch again: the query count must not grow with the rows."""
    before = count_queries(fetch)
    add_rows(extra)
    after = count_queries(fetch)
    assert after <= before, (
        f"query count grew from {before} to {after} after adding {extra} rows (a query per row?)"
    )
