"""Finding a person by ID number and by phone among `--persons` residents (default 500,000), and
rendering the scoped household list page.

The register is the Huayang demo (`jiedao.demo.build.build_demo(scale=N)`): N residents in households,
ten communities, 53 grids, one login per role. Then, in the same run:

- the limit: `Person.objects.get(pk=...)` — a primary-key fetch (decrypting both fields), the least a
  lookup can cost;
- `registry.queries.search(user, q)` by resident ID and by mobile number (blind index), as the command
  centre (whole subdistrict) and, by ID, as a community's staff member (scoped): median, p95, queries;
- the naive alternative without a blind index: read every row and decrypt its ID to find one (a few
  runs only — it is slow);
- GET /registry/households/ (first page, default sort) through the Django test client as a grid worker
  and as community staff: median, p95, queries.

Every timed search gets a freshly loaded user, as a request does, so reading the user's role
assignments is counted in the search (loading the user row itself is not)."""

from __future__ import annotations

import random
import statistics
from functools import partial
from typing import Any

from benchmarks.common import (
    counting_queries,
    ms,
    options,
    percentiles,
    ratio,
    say,
    setup_django,
    timed,
    write,
)


def sample_people(n: int, rng: random.Random, **filters: Any) -> list[tuple[int, str, str]]:
    """(pk, resident ID, phone) of `n` random persons with a resident ID and a phone."""
    from jiedao.registry.models import Person

    pks = list(
        Person.objects.filter(id_type="resident_id", **filters)
        .exclude(phone_index="")
        .values_list("pk", flat=True)
    )
    chosen = rng.sample(pks, min(n, len(pks)))
    found = Person.objects.filter(pk__in=chosen).values_list("pk", "id_number", "phone")
    by_pk = {pk: (pk, number, phone) for pk, number, phone in found}
    return [by_pk[pk] for pk in chosen]


def measure(calls: list[Any]) -> tuple[dict[str, float], float, list[dict[str, Any]], list[float]]:
    """Time each call; (percentiles, queries per call, slowest statements, samples)."""
    samples = []
    with counting_queries() as counter:
        for call in calls:
            seconds, _ = timed(call)
            samples.append(seconds)
    return percentiles(samples), counter.count / len(calls), counter.top(), samples


def main() -> None:
    args = options(__doc__ or "", persons=500_000, lookups=200, pages=50, naive=3)
    setup_django()
    from django.test import Client
    from django.urls import reverse

    from jiedao.demo.build import build_demo
    from jiedao.org.models import User
    from jiedao.registry.identity import id_lookup_key
    from jiedao.registry.models import Household, Person
    from jiedao.registry.queries import persons_visible_to, search

    build_s, summary = timed(lambda: build_demo(scale=args.persons, progress=True))
    persons = Person.objects.count()
    households = Household.objects.count()
    say(f"register: {persons:,} persons, {households:,} households (built in {build_s:.0f}s)")

    logins = {login["role"]: login["username"] for login in summary["logins"]}
    command = User.objects.get(username=logins["command"])
    staff = User.objects.get(username=logins["community_staff"])
    worker = User.objects.get(username=logins["grid_worker"])
    staff_community = staff.scope_for_role("community_staff").community_ids
    worker_grid = worker.scope_for_role("grid_worker").grid_ids

    rng = random.Random(2022)
    people = sample_people(args.lookups, rng)
    local = sample_people(args.lookups, rng, community_id__in=staff_community)

    def fresh(user: User) -> User:
        return User.objects.get(pk=user.pk)

    def by_pk(pk: int) -> Any:
        return partial(Person.objects.get, pk=pk)

    # A request loads its user afresh: the user is loaded before each call (untimed), so the role
    # assignments search() reads to find the user's area are counted, as a request pays them.
    def find(user: User, q: str, pk: int) -> None:
        result = search(user, q)
        assert [p.pk for p in result.persons] == [pk], (q, result.persons)
        assert len(result.households) == 1, (q, result.households)

    def search_calls(user: User, by: str, sample: list[tuple[int, str, str]]) -> list[Any]:
        return [
            partial(find, fresh(user), number if by == "id" else phone, pk) for pk, number, phone in sample
        ]

    for call in search_calls(command, "id", people[:5]) + [by_pk(p[0]) for p in people[:5]]:
        call()  # warm up caches (the derived keys, prepared statements)

    limit, limit_q, _, _ = measure([by_pk(p[0]) for p in people])
    say(f"limit, Person.objects.get(pk): {limit}, {limit_q:.1f} queries")
    by_id, by_id_q, by_id_sql, _ = measure(search_calls(command, "id", people))
    say(f"search by ID (command): {by_id}, {by_id_q:.1f} queries")
    by_phone, by_phone_q, by_phone_sql, _ = measure(search_calls(command, "phone", people))
    say(f"search by phone (command): {by_phone}, {by_phone_q:.1f} queries")
    scoped_id, scoped_q, _, _ = measure(search_calls(staff, "id", local))
    say(f"search by ID (community staff): {scoped_id}, {scoped_q:.1f} queries")

    # The blind-index match alone (the persons query search() runs first, without the households of
    # the persons found): separates the index lookup from the rest of the search.
    def match(user: User, number: str, pk: int) -> None:
        found = persons_visible_to(user).filter(
            id_type="resident_id", id_index=id_lookup_key("resident_id", number)
        )
        assert [p.pk for p in found] == [pk]

    match_calls = [partial(match, fresh(command), number, pk) for pk, number, _phone in people]
    match_id, match_q, _, _ = measure(match_calls)
    say(f"blind-index match by ID only (command): {match_id}, {match_q:.1f} queries")

    def naive(target: str) -> int | None:
        found = None
        for pk, number in Person.objects.values_list("pk", "id_number").iterator(chunk_size=5000):
            if number == target:
                found = pk  # an ID is unique, but the scan cannot know there is no second holder
        return found

    naive_times = []
    for pk, number, _phone in people[: args.naive]:
        seconds, found = timed(partial(naive, number))
        assert found == pk
        naive_times.append(seconds)
    naive_s = statistics.median(naive_times)
    say(f"naive decrypt-every-row scan: {naive_s:.2f}s (median of {len(naive_times)})")

    url = reverse("registry:households")
    pages: dict[str, Any] = {}
    for label, user in (("grid worker", worker), ("community staff", staff)):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)

        def get(client: Client = client) -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        for _ in range(3):
            get()
        visible = Household.objects.visible_to(user).count()
        stats, queries, slowest, _ = measure([get] * args.pages)
        pages[label] = (stats, queries, slowest, visible)
        say(f"household list as {label} ({visible:,} households visible): {stats}, {queries:.1f} queries")

    def row(
        measure_: str, stats: dict[str, float], base: dict[str, float]
    ) -> list[tuple[str, Any, Any, Any]]:
        return [
            (f"{measure_}: median ms", stats["median_ms"], base["median_ms"], ratio(stats["median_ms"], base["median_ms"])),
            (f"{measure_}: p95 ms", stats["p95_ms"], base["p95_ms"], ratio(stats["p95_ms"], base["p95_ms"])),
        ]  # fmt: skip

    n = f"{persons:,} persons"
    naive_ms = ms(naive_s)
    rows: list[tuple[str, Any, Any, Any]] = [
        (f"limit: Person.objects.get(pk) ({n}): median ms", limit["median_ms"], "limit", 1.0),
        ("limit: Person.objects.get(pk): p95 ms", limit["p95_ms"], "limit", 1.0),
        *row(f"search by ID, command ({n}) vs pk fetch", by_id, limit),
        ("search by ID: queries", by_id_q, limit_q, ratio(by_id_q, limit_q)),
        *row(f"search by phone, command ({n}) vs pk fetch", by_phone, limit),
        ("search by phone: queries", by_phone_q, limit_q, ratio(by_phone_q, limit_q)),
        *row("search by ID, community staff (scoped) vs pk fetch", scoped_id, limit),
        ("search by ID, community staff: queries", scoped_q, limit_q, ratio(scoped_q, limit_q)),
        *row("blind-index match only (persons query + prefetches), command, vs pk fetch", match_id, limit),
        ("blind-index match only: queries", match_q, limit_q, ratio(match_q, limit_q)),
        (f"naive: decrypt every row's ID ({n}), ms — vs search by ID", naive_ms, by_id["median_ms"], ratio(naive_ms, by_id["median_ms"])),
    ]  # fmt: skip
    for label, (stats, queries, _slowest, visible) in pages.items():
        rows += [
            (
                f"household list page as {label} ({visible:,} households): median ms",
                stats["median_ms"],
                "",
                "",
            ),
            (f"household list page as {label}: p95 ms", stats["p95_ms"], "", ""),
            (f"household list page as {label}: queries", queries, "", ""),
        ]
    write(
        args.result,
        rows,
        params={"persons": persons, "households": households, "lookups": len(people), "pages": args.pages},
        build_seconds=round(build_s, 1),
        users={"command": command.username, "community_staff": staff.username, "grid_worker": worker.username,
               "grid_ids": sorted(worker_grid), "community_ids": sorted(staff_community)},
        naive_runs_s=[round(s, 3) for s in naive_times],
        slowest_sql={
            "search by ID": by_id_sql,
            "search by phone": by_phone_sql,
            **{f"household list as {label}": v[2] for label, v in pages.items()},
        },
    )  # fmt: skip


if __name__ == "__main__":
    main()
