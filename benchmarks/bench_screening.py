"""Receiving a pushed list of `--rows` people (default 100,000) against a register of `--persons`
residents (default 500,000), against merely parsing the same file; then the key-person ledger page.

The register is the Huayang demo (`jiedao.demo.build.build_demo(scale=N)`). The list is written the way
a city platform pushes one (序号 姓名 身份证号 手机号 来源地 抵达时间 现住址 风险类别), rows shuffled:
~60 % residents on the register (their real ID number, phone and household address), ~10 % residents
given by phone only (no ID), ~30 % people not on the register (new valid resident IDs and mobiles;
two thirds with an address in a demo compound, the rest a street address that names none), categories
密接 / 次密接 / 时空伴随 / 高风险区来返人员. The list was received 13 hours ago, so with the national
protocol's 12-hour deadline every key person is overdue (the heaviest case for the overdue filter).

As the demo's `command` user, after `actions.do_stage_list`:
(a) parse only: iterate `core.sheets.iter_table` over the file — the baseline;
(b) dry run: `actions.do_receive_list(dry_run=True)` — check, match, route, write, roll back;
(c) commit: `actions.do_receive_list(...)` — the same, kept.
Each with its ratio to (a), rows/s and queries, and the counts of the report.

Then the key-person ledger page `/screening/` (Django test client, as `command`, ≥`--rows` key persons):
`--pages` requests of the first page (default sort), `--filtered` with `?overdue=1` and as many with
`?q=<a name>`: median, p95, queries per request. Beside it, the page's core queries alone:
`queries.key_persons_visible_to(user)` ordered by the deadline, `LIMIT 25`, and its `count()`.

SORMAS users reported importing 230 contacts per 30 minutes and a contacts page taking 32.7 s for 2,934
contacts (figures reported by users on their own hardware, not measured here); the result sets ours
beside them."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import Counter
from functools import partial
from pathlib import Path
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
    write_sheet,
)

HEADER = ["序号", "姓名", "身份证号", "手机号", "来源地", "抵达时间", "现住址", "风险类别"]
CATEGORIES = ("密接", "次密接", "时空伴随", "高风险区来返人员")
CATEGORY_WEIGHTS = (25, 25, 30, 20)
ORIGINS = (
    "上海市浦东新区", "上海市闵行区", "吉林省长春市", "吉林省吉林市", "广州市白云区", "广州市海珠区",
    "北京市朝阳区", "西安市雁塔区", "成都市武侯区", "成都市郫都区",
)  # fmt: skip
# Regions of the new people's resident IDs: the cities the lists of 2022 came from, and Chengdu.
NEW_REGIONS = ("310115", "310112", "220102", "220202", "440111", "440105", "110105", "610113", "510107")
STREETS = ("正北下街", "正东上街", "华阳大道一段", "双华路", "广都上街", "伏龙北巷")
ELSEWHERE = ("上海市浦东新区张江路", "长春市朝阳区红旗街", "广州市白云区机场路", "成都市武侯区科华北路")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌辉鹏宇浩欣怡子涵梓轩"
SORMAS_IMPORT_ROWS_PER_S = 230 / (30 * 60)  # 230 contacts in 30 minutes
SORMAS_PAGE_S, SORMAS_PAGE_CONTACTS = 32.7, 2934  # the contacts page, 2,934 contacts
RECEIVED_HOURS_AGO = 13
CHUNK = 900


def _chunks(items: list[Any], size: int = CHUNK) -> Any:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def register_people(rng: random.Random, n_id: int, n_phone: int) -> tuple[list[tuple], list[tuple]]:
    """(name, resident ID, phone, household address) of `n_id` residents with a resident ID, and
    (name, phone, household address) of `n_phone` others with a phone whose (phone, name) is unique."""
    from jiedao.registry.models import Person, Resident

    home = dict(
        Resident.objects.filter(moved_out__isnull=True)
        .order_by("person_id", "pk")
        .values_list("person_id", "household__address")
    )
    with_id = [
        pk
        for pk in Person.objects.filter(id_type="resident_id")
        .exclude(id_index="")
        .values_list("pk", flat=True)
        if pk in home
    ]
    if len(with_id) < n_id:
        raise SystemExit(
            f"the register has {len(with_id):,} residents with an ID, {n_id:,} wanted: raise --persons"
        )
    by_id = rng.sample(with_id, n_id)
    taken = set(by_id)
    # A phone shared by two people of the same name identifies neither: such rows would be candidates,
    # not phone matches, so keep to (phone, name) pairs that occur once on the register.
    phoned = list(Person.objects.exclude(phone_index="").values_list("pk", "phone_index", "name"))
    shared: Counter[tuple[str, str]] = Counter((phone_index, name) for _pk, phone_index, name in phoned)
    with_phone = sorted(
        pk
        for pk, phone_index, name in phoned
        if pk in home and pk not in taken and shared[(phone_index, name)] == 1
    )
    rng.shuffle(with_phone)
    by_phone = with_phone[:n_phone]
    if len(by_phone) < n_phone:
        raise SystemExit(
            f"only {len(by_phone):,} residents to find by phone, {n_phone:,} wanted: raise --persons"
        )
    decrypted: dict[int, tuple[str, str, str]] = {}
    for ids in _chunks(by_id + by_phone):
        for pk, name, number, phone in Person.objects.filter(pk__in=ids).values_list(
            "pk", "name", "id_number", "phone"
        ):
            decrypted[pk] = (name, number, phone)
    ids_rows = [(decrypted[pk][0], decrypted[pk][1], decrypted[pk][2], home[pk]) for pk in by_id]
    phone_rows = [(decrypted[pk][0], decrypted[pk][2], home[pk]) for pk in by_phone]
    return ids_rows, phone_rows


def new_people(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    """(name, resident ID, mobile) of `n` people on no register: IDs and mobiles checked against it."""
    from jiedao.core.identity import id_check_char
    from jiedao.registry.identity import id_lookup_key, phone_lookup_key
    from jiedao.registry.models import Person

    base = dt.date(1945, 1, 1)
    ids: set[str] = set()
    phones: set[str] = set()
    while len(ids) < n:
        birth = base + dt.timedelta(days=rng.randrange(28000))
        first17 = f"{rng.choice(NEW_REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        ids.add(first17 + id_check_char(first17))
    while len(phones) < n:
        phones.add(f"1{rng.choice('3578')}{rng.randrange(10**9):09d}")
    id_list, phone_list = sorted(ids), sorted(phones)
    rng.shuffle(id_list)
    rng.shuffle(phone_list)
    known_ids = {id_lookup_key("resident_id", x): x for x in id_list}
    known_phones = {phone_lookup_key(x): x for x in phone_list}
    on_register = set()
    for keys in _chunks(list(known_ids)):
        on_register |= {
            known_ids[k] for k in Person.objects.filter(id_index__in=keys).values_list("id_index", flat=True)
        }
    for keys in _chunks(list(known_phones)):
        on_register |= {
            known_phones[k]
            for k in Person.objects.filter(phone_index__in=keys).values_list("phone_index", flat=True)
        }
    if on_register:
        say(f"{len(on_register)} generated IDs/phones were on the register: those rows get a fresh one")
    id_list = [x for x in id_list if x not in on_register]
    phone_list = [x for x in phone_list if x not in on_register]
    while len(id_list) < n:  # vanishingly rare; a Shanghai-born 2010s ID the demo never makes
        first17 = f"310115201{rng.randrange(10)}0101{rng.randrange(1000):03d}"
        number = first17 + id_check_char(first17)
        if number not in ids:
            ids.add(number)
            id_list.append(number)
    while len(phone_list) < n:
        number = f"170{rng.randrange(10**8):08d}"  # a virtual-carrier prefix the demo never gives out
        if number not in phones:
            phones.add(number)
            phone_list.append(number)
    out = []
    for i in range(n):
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
        out.append((name, id_list[i], phone_list[i]))
    return out


def compound_addresses() -> list[tuple[str, list[str]]]:
    """(compound name, its building numbers) of the demo's compounds."""
    from jiedao.registry.models import Building, Compound

    numbers: dict[int, list[str]] = {}
    for compound_id, number in Building.objects.values_list("compound_id", "number"):
        numbers.setdefault(compound_id, []).append(number)
    return [
        (name, numbers.get(pk, ["1"]))
        for pk, name in Compound.objects.values_list("pk", "name")
        if len(name) >= 2
    ]


def list_rows(
    n: int, received_at: dt.datetime, seed: int = 2022
) -> tuple[list[list[Any]], dict[str, int], list[str]]:
    """The pushed list's data rows (shuffled), the planned mix and some names to search for."""
    from django.utils import timezone

    rng = random.Random(seed)
    n_id, n_phone = round(n * 0.6), round(n * 0.1)
    n_new = n - n_id - n_phone
    by_id, by_phone = register_people(rng, n_id, n_phone)
    fresh = new_people(rng, n_new)
    compounds = compound_addresses()

    def arrived() -> str:
        when = timezone.localtime(received_at) - dt.timedelta(minutes=rng.randrange(60, 6 * 24 * 60))
        return f"{when:%Y-%m-%d %H:%M}"

    def other() -> list[str]:
        return [rng.choice(ORIGINS), arrived(), "", rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]]

    rows: list[list[Any]] = []
    for name, number, phone, address in by_id:
        origin, when, _a, cat = other()
        rows.append([name, number, phone if rng.random() < 0.9 else "", origin, when, address, cat])
    for name, phone, address in by_phone:
        origin, when, _a, cat = other()
        rows.append([name, "", phone, origin, when, address, cat])
    in_compound = 0
    for name, number, phone in fresh:
        origin, when, _a, cat = other()
        if rng.random() < 2 / 3:
            compound, buildings = rng.choice(compounds)
            address = f"华阳街道{compound}{rng.choice(buildings)}栋{rng.randint(1, 2)}单元{rng.randint(1, 18)}{rng.randint(1, 4):02d}"
            in_compound += 1
        elif rng.random() < 0.5:
            address = f"华阳街道{rng.choice(STREETS)}{rng.randint(1, 300)}号"
        else:
            address = f"{rng.choice(ELSEWHERE)}{rng.randint(1, 999)}号"
        rows.append([name, number, phone, origin, when, address, cat])
    rng.shuffle(rows)
    for i, row in enumerate(rows, start=1):
        row.insert(0, i)
    names = [r[0] for r in rng.sample(by_id, min(100, len(by_id)))]
    plan = {
        "by_id": n_id,
        "by_phone_only": n_phone,
        "not_on_register": n_new,
        "new_with_compound_address": in_compound,
    }
    return rows, plan, names


def write_xlsx(path: Path, rows: list[list[Any]]) -> bytes:
    return write_sheet(path, "推送名单", HEADER, rows)


def measure(calls: list[Any]) -> tuple[dict[str, float], float, list[dict[str, Any]]]:
    """Time each call; (percentiles, queries per call, slowest statements)."""
    samples = []
    with counting_queries() as counter:
        for call in calls:
            seconds, _ = timed(call)
            samples.append(seconds)
    return percentiles(samples), counter.count / len(calls), counter.top(5)


def main() -> None:
    args = options(__doc__ or "", persons=500_000, rows=100_000, pages=50, filtered=20, repeat=3)
    setup_django()
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from jiedao.core.sheets import iter_table
    from jiedao.demo.build import build_demo
    from jiedao.org.models import User
    from jiedao.registry.models import Household, Person
    from jiedao.screening import actions
    from jiedao.screening.models import KeyPerson, PushedEntry
    from jiedao.screening.queries import key_persons_visible_to
    from jiedao.work.models import WorkItem

    build_s, _summary = timed(lambda: build_demo(scale=args.persons, progress=True))
    persons = Person.objects.count()
    say(f"register: {persons:,} persons, {Household.objects.count():,} households (built in {build_s:.0f}s)")
    command = User.objects.get(username="command")

    def actor() -> Any:
        return User.objects.get(pk=command.pk)  # fresh, as a request would load it

    received_at = timezone.now() - dt.timedelta(hours=RECEIVED_HOURS_AGO)
    gen_s, (rows, plan, names) = timed(partial(list_rows, args.rows, received_at))
    path = Path(settings.VAR_DIR) / "bench-pushed-list.xlsx"
    xlsx_s, data = timed(partial(write_xlsx, path, rows))
    del rows
    say(
        f"list: {args.rows:,} rows {plan}, {len(data) / 1048576:.1f} MB (generated in {gen_s:.1f}s, written in {xlsx_s:.1f}s)"
    )

    def parse() -> int:
        return sum(1 for _row in iter_table(path.name, data))

    parse_times = []
    for _ in range(args.repeat):
        seconds, count = timed(parse)
        parse_times.append(seconds)
    assert count == args.rows + 1, count
    parse_s = statistics.median(parse_times)
    say(f"(a) parse only: {parse_s:.2f}s (median of {args.repeat})")

    meta = actions.check_list_meta(
        title=f"密接及次密接人员协查名单（{args.rows:,}人）", issuer="市疫情防控指挥部", source="close_contact",
        received_at=received_at,
    )  # fmt: skip
    with counting_queries() as counter:
        stage_s, plist = timed(
            lambda: actions.do_stage_list(actor=actor(), meta=meta, filename=path.name, data=data)
        )
    stage_queries = counter.count
    say(f"stage: {stage_s:.2f}s, {stage_queries} queries")

    # The demo brings a week of its own pushed lists: count what this list adds to them.
    def tally() -> tuple[int, int, int]:
        return (
            KeyPerson.objects.count(),
            PushedEntry.objects.count(),
            WorkItem.objects.filter(kind="screening.verify").count(),
        )

    before = tally()
    say(
        f"before: {before[0]:,} key persons, {before[1]:,} entries, {before[2]:,} verification items (the demo's)"
    )
    problems: list[str] = []  # checked, but a mismatch is reported, not fatal, after a long run

    with counting_queries() as dry_counter:
        dry_s, dry = timed(
            lambda: actions.do_receive_list(actor=actor(), plist=plist, data=data, dry_run=True)
        )
    assert dry.ok, dry.report.messages()[:5]
    if tally() != before:
        problems.append(f"the dry run left rows behind: {before} → {tally()}")
    say(f"(b) dry run: {dry_s:.2f}s, {dry_counter.count} queries — {dry.report.counts}")

    with counting_queries() as commit_counter:
        commit_s, result = timed(lambda: actions.do_receive_list(actor=actor(), plist=plist, data=data))
    assert result.ok and result.previous is None, result.report.messages()[:5]
    counts = result.report.counts
    if counts != dry.report.counts:
        problems.append(f"dry run and commit counted differently: {dry.report.counts} vs {counts}")
    after = tally()
    added = tuple(a - b for a, b in zip(after, before, strict=True))
    if added != (counts.get("key_persons", 0), args.rows, counts.get("work_items", 0)):
        problems.append(f"added (key persons, entries, verification items) {added}; the report says {counts}")
    key_persons = after[0]
    for problem in problems:
        say(f"PROBLEM: {problem}")
    say(f"(c) commit: {commit_s:.2f}s, {commit_counter.count} queries — {counts}")
    say(
        f"key persons: {key_persons:,}; slowest commit statements: {[s['ms'] for s in commit_counter.top(5)]}"
    )

    # The page's core: the visible key persons, first 25 by deadline, and how many there are.
    def core() -> None:
        qs = key_persons_visible_to(actor()).order_by("due_at", "pk")
        assert len(list(qs[:25])) == 25 and qs.count() == key_persons

    core()
    core_stats, core_q, core_sql = measure([core] * args.pages)
    say(f"core queries (first 25 by deadline + count): {core_stats}, {core_q:.1f} queries")

    page: dict[str, Any] = {}
    page_error = ""
    try:
        url = reverse("screening:key_persons")
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(command)

        def get(query: str = "") -> None:
            response = client.get(url + query)
            assert response.status_code == 200, (query, response.status_code)

        for _ in range(3):
            get()
    except Exception as exc:  # the page is not there yet: the core queries stand in for it
        page_error = f"{type(exc).__name__}: {exc}"[:300]
        say(f"key-person page not measured: {page_error}")
    if not page_error:
        rng = random.Random(7)
        page["first page"] = (*measure([get] * args.pages), args.pages)
        page["overdue=1"] = (*measure([partial(get, "?overdue=1")] * args.filtered), args.filtered)
        page["q=<a name>"] = (
            *measure(
                [partial(get, f"?q={name}") for name in rng.sample(names, min(args.filtered, len(names)))]
            ),
            min(args.filtered, len(names)),
        )
        for label, (stats, queries, _sql, n) in page.items():
            say(f"page {url} {label}: {stats}, {queries:.1f} queries ({n} requests)")

    n = f"{args.rows:,} rows"
    end_to_end_s = stage_s + dry_s + commit_s
    commit_rate = args.rows / commit_s
    out: list[tuple[str, Any, Any, Any]] = [
        (f"parse only, core.sheets.iter_table ({n}), s", round(parse_s, 3), "baseline", 1.0),
        (f"stage list: parse head + encrypt + keep ({n}), s", round(stage_s, 3), round(parse_s, 3), ratio(stage_s, parse_s)),
        (f"dry run: check + match + route + write, rolled back ({n}), s", round(dry_s, 3), round(parse_s, 3), ratio(dry_s, parse_s)),
        ("dry run: queries", dry_counter.count, "", ""),
        ("dry run: rows per second", round(args.rows / dry_s), "", ""),
        (f"commit: check + match + route + write ({n}, {persons:,} persons), s", round(commit_s, 3), round(parse_s, 3), ratio(commit_s, parse_s)),
        ("commit: queries", commit_counter.count, "", ""),
        ("commit: rows per second vs SORMAS users' import (0.128 rows/s)", round(commit_rate), round(SORMAS_IMPORT_ROWS_PER_S, 3), ratio(commit_rate, SORMAS_IMPORT_ROWS_PER_S)),
        ("stage + dry run + commit: rows per second vs SORMAS users' import", round(args.rows / end_to_end_s), round(SORMAS_IMPORT_ROWS_PER_S, 3), ratio(args.rows / end_to_end_s, SORMAS_IMPORT_ROWS_PER_S)),
        (f"core queries: visible key persons, first 25 by deadline + count ({key_persons:,}): median ms", core_stats["median_ms"], "", ""),
        ("core queries: p95 ms", core_stats["p95_ms"], "", ""),
        ("core queries: queries", core_q, "", ""),
    ]  # fmt: skip
    comparison: dict[str, Any] = {
        "sormas_reported_by_users": {
            "import_rows_per_s": round(SORMAS_IMPORT_ROWS_PER_S, 4),
            "import_note": "230 contacts per 30 minutes",
            "contacts_page_s": SORMAS_PAGE_S,
            "contacts_page_contacts": SORMAS_PAGE_CONTACTS,
            "note": "figures reported by SORMAS users on their own hardware, not measured in this run",
        },
        "import_commit_x": ratio(commit_rate, SORMAS_IMPORT_ROWS_PER_S),
        "import_end_to_end_x": ratio(args.rows / end_to_end_s, SORMAS_IMPORT_ROWS_PER_S),
    }
    for label, (stats, queries, _sql, _n) in page.items():
        out += [
            (f"key-person page {label} ({key_persons:,} key persons): median ms", stats["median_ms"], core_stats["median_ms"], ratio(stats["median_ms"], core_stats["median_ms"])),
            (f"key-person page {label}: p95 ms", stats["p95_ms"], core_stats["p95_ms"], ratio(stats["p95_ms"], core_stats["p95_ms"])),
            (f"key-person page {label}: queries", queries, core_q, ratio(queries, core_q)),
        ]  # fmt: skip
    if page:
        p95_s = page["first page"][0]["p95_ms"] / 1000
        page_x = SORMAS_PAGE_S / p95_s
        # Per contact in the data set: SORMAS 32.7 s / 2,934 contacts against our p95 / our key persons.
        per_contact_x = (SORMAS_PAGE_S / SORMAS_PAGE_CONTACTS) / (p95_s / key_persons)
        out += [
            ("SORMAS users' contacts page (32.7 s) ÷ our first-page p95", round(page_x), SORMAS_PAGE_S, round(page_x)),
            ("the same per contact in the data set (32.7 s / 2,934 vs p95 / key persons)", round(per_contact_x), "", round(per_contact_x)),
        ]  # fmt: skip
        comparison.update({"page_p95_x": round(page_x), "page_per_contact_x": round(per_contact_x)})
    write(
        args.result,
        out,
        params={"persons": persons, "rows": args.rows, "xlsx_bytes": len(data), "key_persons": key_persons,
                "pages": args.pages, "filtered": args.filtered, "repeat": args.repeat,
                "received_hours_ago": RECEIVED_HOURS_AGO, "mix": plan},
        counts=counts,
        before={"key_persons": before[0], "entries": before[1], "verification_items": before[2]},
        problems=problems,
        comparison=comparison,
        page_error=page_error,
        build_seconds=round(build_s, 1),
        seconds={"generate": round(gen_s, 2), "write_xlsx": round(xlsx_s, 2), "parse_runs": [round(s, 3) for s in parse_times],
                 "stage": round(stage_s, 3), "dry_run": round(dry_s, 3), "commit": round(commit_s, 3)},
        per_1000_rows_ms={"dry_run": ms(dry_s / args.rows * 1000), "commit": ms(commit_s / args.rows * 1000)},
        slowest_sql={
            "dry run": dry_counter.top(5),
            "commit": commit_counter.top(5),
            "core queries": core_sql,
            **{f"key-person page {label}": v[2] for label, v in page.items()},
        },
    )  # fmt: skip


if __name__ == "__main__":
    main()
