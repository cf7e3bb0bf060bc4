"""Test data for the register, built through the actions (so tests exercise the same rules as users).
Other apps' tests, the demo and the browser tests import these helpers."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from jiedao.core.identity import id_check_char
from jiedao.registry.actions import do_open_household, do_register_person, do_register_resident
from jiedao.registry.choices import IdType, Relation
from jiedao.registry.models import Household, Person

_seq = itertools.count(1)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def resident_id(
    n: int | None = None, *, birth: dt.date | None = None, region: str = "510116", female: bool | None = None
) -> str:
    """A valid 18-character resident ID (checksum included); `n` makes it unique."""
    n = next(_seq) if n is None else n
    birth = birth or dt.date(1950 + n % 60, 1 + n % 12, 1 + n % 28)
    seq = n % 1000
    if female is not None:
        seq = seq - seq % 2 + (0 if female else 1)  # the 17th digit is odd for men
    first17 = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_check_char(first17)


def mobile(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    return f"139{n % 100_000_000:08d}"


def person_name(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)] + GIVEN[n % len(GIVEN)]


def make_person(
    community: Any = None,
    grid: Any = None,
    *,
    name: str | None = None,
    id_number: str | None = None,
    phone: str | None = None,
    actor: Any = None,
    id_type: str = IdType.RESIDENT_ID,
    **kwargs: Any,
) -> Person:
    """A registered person (no household) through `do_register_person`."""
    n = next(_seq)
    return do_register_person(
        actor=actor, name=name or person_name(n), id_type=id_type,
        id_number=id_number if id_number is not None else resident_id(n),
        phone=phone if phone is not None else mobile(n), community=community, grid=grid, **kwargs,
    )  # fmt: skip


def make_household(
    community: Any,
    grid: Any = None,
    members: int = 2,
    actor: Any = None,
    *,
    compound: str = "测试花园",
    building: str | None = None,
    entrance: str = "1",
    flat: str | None = None,
    care_tags: dict[int, list[str]] | None = None,
) -> Household:
    """A household in `community`/`grid` with `members` residents (the first is the head). `care_tags`
    maps a member's index to the tags they get."""
    n = next(_seq)
    hh = do_open_household(
        actor=actor, community=community, grid=grid, compound=compound,
        building=building or str(1 + n // 100), entrance=entrance, flat=flat or str(101 + n % 100),
    )  # fmt: skip
    care_tags = care_tags or {}
    for i in range(members):
        m = next(_seq)
        do_register_resident(
            actor=actor, household=hh, name=person_name(m), id_number=resident_id(m), phone=mobile(m),
            relation=Relation.HEAD if i == 0 else (Relation.SPOUSE if i == 1 else Relation.CHILD),
            care_tags=care_tags.get(i, ()),
        )  # fmt: skip
    hh.refresh_from_db()
    return hh
