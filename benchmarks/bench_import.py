"""Importing residents from an xlsx ledger, against merely parsing the same file.

Generates a ledger of `--rows` residents (default 100,000) the way a community keeps one: Chinese
headers, households of 1–5 members at 小区/楼栋/单元/门牌号 addresses across eight compounds in four
grids, valid resident IDs, most with a mobile number, a few with care tags. Then, on an empty register:

(a) parse only: python-calamine reads the sheet into Python rows (what the importer starts with);
(b) dry run: `importer.check_file` — parse, map columns, validate every row, check the register;
(c) stage: `importer.stage_upload` — parse once more and keep the file encrypted for the commit step;
(d) commit: `importer.commit_batch` — validate again and write it all in one transaction.

Each is reported with its ratio to (a). Query counts show the writes are batched (not one per row)."""

from __future__ import annotations

import datetime as dt
import io
import random
import statistics
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.common import (
    counting_queries,
    ms,
    options,
    ratio,
    say,
    setup_django,
    timed,
    write,
    write_sheet,
)

HEADER = [
    "序号",
    "姓名",
    "公民身份号码",
    "联系电话",
    "小区",
    "楼栋",
    "单元",
    "门牌号",
    "与户主关系",
    "网格",
    "特殊人群",
]
COMPOUNDS = ["南湖尚景", "锦江花园", "天府雅居", "华阳新城", "滨江苑", "龙河院落", "正西街宿舍", "伏龙小区"]
GRIDS = ["第一网格", "第二网格", "第三网格", "第四网格"]
REGIONS = ["510116", "510104", "510107", "510122", "510112", "510181", "500101", "420106", "610113"]
RELATIONS = ["户主", "配偶", "子女", "子女", "父母"]
CARE = ["独居老人", "残疾人", "孕妇", "需定期治疗", "婴幼儿", "卧床"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌辉鹏宇浩欣怡子涵梓轩"
ENTRANCES, FLOORS, PER_FLOOR = 2, 18, 4


def ledger_rows(n: int, seed: int = 2022) -> list[list[Any]]:
    """`n` data rows (after the header), grouped into households, deterministic for a seed."""
    from jiedao.core.identity import id_check_char

    rng = random.Random(seed)
    ids: set[str] = set()
    phones: set[str] = set()
    base = dt.date(1940, 1, 1)

    def resident_id() -> str:
        while True:
            birth = base + dt.timedelta(days=rng.randrange(30000))  # 1940–2022
            first17 = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
            number = first17 + id_check_char(first17)
            if number not in ids:
                ids.add(number)
                return number

    def mobile() -> str:
        while True:
            number = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
            if number not in phones:
                phones.add(number)
                return number

    rows: list[list[Any]] = []
    household = 0
    while len(rows) < n:
        compound = household % len(COMPOUNDS)
        slot = household // len(COMPOUNDS)
        building, rest = divmod(slot, ENTRANCES * FLOORS * PER_FLOOR)
        entrance, rest = divmod(rest, FLOORS * PER_FLOOR)
        floor, unit = divmod(rest, PER_FLOOR)
        size = rng.choices([1, 2, 3, 4, 5], weights=[20, 30, 25, 15, 10])[0]
        for member in range(min(size, n - len(rows))):
            rows.append(
                [
                    len(rows) + 1,
                    rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                    resident_id(),
                    mobile() if rng.random() < 0.85 else "",
                    COMPOUNDS[compound],
                    f"{building + 1}栋",
                    f"{entrance + 1}单元",
                    f"{floor + 1}{unit + 1:02d}",
                    RELATIONS[member],
                    GRIDS[compound % len(GRIDS)],
                    rng.choice(CARE) if rng.random() < 0.05 else "",
                ]
            )
        household += 1
    return rows


def write_xlsx(path: Path, rows: list[list[Any]]) -> bytes:
    return write_sheet(path, "居民", HEADER, rows)


def parse_only(data: bytes) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    return (
        CalamineWorkbook.from_filelike(io.BytesIO(data))
        .get_sheet_by_index(0)
        .to_python(skip_empty_area=False)
    )


def setup_area() -> tuple[Any, Any]:
    """Subdistrict, community, four grids and a community staff member who imports."""
    from jiedao.org.models import Community, Grid, RoleAssignment, Subdistrict, User

    sub = Subdistrict.objects.create(name="基准街道", code="BENCH")
    community = Community.objects.create(subdistrict=sub, name="基准社区", code="BENCH-C")
    Grid.objects.bulk_create(
        Grid(community=community, name=name, code=f"BENCH-C-{i:02d}") for i, name in enumerate(GRIDS, 1)
    )
    staff = User.objects.create(username="bench_staff", display_name="基准社区工作人员")
    RoleAssignment.objects.create(user=staff, role="community_staff", level="community", community=community)
    return community, staff


def main() -> None:
    args = options(__doc__ or "", rows=100_000, repeat=3)
    setup_django()
    from django.conf import settings

    from jiedao.org.models import User
    from jiedao.registry import importer
    from jiedao.registry.models import Household, Person, Resident

    community, staff = setup_area()
    gen_s, ledger = timed(partial(ledger_rows, args.rows))
    path = Path(settings.VAR_DIR) / "bench-residents.xlsx"
    xlsx_s, data = timed(partial(write_xlsx, path, ledger))
    households = len({(r[4], r[5], r[6], r[7]) for r in ledger})
    say(f"ledger: {args.rows:,} rows, {households:,} households, {len(data) / 1048576:.1f} MB "
        f"(generated in {gen_s:.1f}s, written in {xlsx_s:.1f}s)")  # fmt: skip
    del ledger  # 100,000 rows of Python objects: not needed past here

    parse_times = []
    for _ in range(args.repeat):
        seconds, parsed = timed(lambda: parse_only(data))
        parse_times.append(seconds)
    assert len(parsed) == args.rows + 1, len(parsed)
    parse_s = statistics.median(parse_times)
    say(f"(a) parse only: {parse_s:.2f}s (median of {args.repeat})")

    def actor() -> Any:
        return User.objects.get(pk=staff.pk)  # fresh, as a request would load it

    dry_times, dry_queries = [], 0
    for _ in range(max(1, args.repeat - 1)):
        with counting_queries() as counter:
            seconds, plan = timed(
                lambda: importer.check_file(path.name, data, community=community, actor=actor())
            )
        dry_times.append(seconds)
        dry_queries = counter.count
        assert plan.ok, plan.messages()[:5]
        assert plan.rows == args.rows and len(plan.households) == households
    dry_s = statistics.median(dry_times)
    say(f"(b) dry run: {dry_s:.2f}s, {dry_queries} queries")

    with counting_queries() as counter:
        stage_s, batch = timed(
            lambda: importer.stage_upload(actor=actor(), community=community, filename=path.name, data=data)
        )
    stage_queries = counter.count
    say(f"(c) stage: {stage_s:.2f}s, {stage_queries} queries")

    with counting_queries() as counter:
        commit_s, result = timed(
            lambda: importer.commit_batch(actor=actor(), batch=batch, data=importer.load_staged(batch))
        )
    commit_queries = counter.count
    assert result.ok, result.plan.messages()[:5]
    assert Person.objects.count() == args.rows and Resident.objects.count() == args.rows
    assert Household.objects.count() == households
    say(f"(d) commit: {commit_s:.2f}s, {commit_queries} queries — {result.counts}")

    n = f"{args.rows:,} rows"
    write(
        args.result,
        [
            (f"parse only, python-calamine ({n}), s", round(parse_s, 3), "baseline", 1.0),
            (f"dry run: parse + validate + register check ({n}), s", round(dry_s, 3), round(parse_s, 3), ratio(dry_s, parse_s)),
            ("dry run: queries", dry_queries, "", ""),
            (f"stage upload: parse + encrypt + keep ({n}), s", round(stage_s, 3), round(parse_s, 3), ratio(stage_s, parse_s)),
            (f"commit: validate again + write all ({n}), s", round(commit_s, 3), round(parse_s, 3), ratio(commit_s, parse_s)),
            ("commit: queries", commit_queries, "", ""),
            ("commit: rows per second", round(args.rows / commit_s), "", ""),
            ("stage + commit per 1,000 rows, ms", ms((stage_s + commit_s) / args.rows * 1000), "", ""),
        ],
        params={"rows": args.rows, "households": households, "xlsx_bytes": len(data), "repeat": args.repeat},
        counts=result.counts,
        seconds={"generate": round(gen_s, 2), "write_xlsx": round(xlsx_s, 2), "parse_runs": [round(s, 3) for s in parse_times], "dry_runs": [round(s, 3) for s in dry_times]},
    )  # fmt: skip


if __name__ == "__main__":
    main()
