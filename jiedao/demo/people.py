"""Generating people for the demo: Chinese names, valid resident IDs, mobile numbers, households of
plausible make-up (head, spouse, children, parents, tenants) and care tags at realistic rates.

Everything draws from one seeded `random.Random` and Faker `zh_CN`'s name lists, so a seed always
gives the same people. Ages are counted from `ref` (1 January of the build year), so a rebuild within
the year gives the same ID numbers."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jiedao.core.identity import id_check_char
from jiedao.demo import data
from jiedao.registry.choices import CareTagKind, IdType, Relation


@dataclass
class Member:
    """One generated household member: plain identity values before encryption."""

    relation: str
    sex: str  # "M" / "F"
    birth: dt.date
    name: str
    id_type: str = IdType.RESIDENT_ID
    id_number: str = ""
    phone: str = ""
    tags: list[tuple[str, str]] = field(default_factory=list)


# Where a household comes from decides the region prefixes of its ID numbers.
_ORIGINS = ("local", "chengdu", "sichuan", "other")
_ORIGIN_WEIGHTS = {
    "resettlement": (75, 10, 10, 5),
    "commercial": (15, 35, 30, 20),
    "old_estate": (45, 25, 20, 10),
    "staff_housing": (40, 30, 20, 10),
    "rental": (0, 15, 50, 35),
}
_SIZE_WEIGHTS = (22, 30, 25, 13, 7, 3)  # households of 1..6 people (Chengdu: about 2.6 a household)


Shape = tuple[str, str, int, str]


class PeopleFactory:
    def __init__(self, rng: random.Random, faker: Any, ref: dt.date) -> None:
        self.rng = rng
        self.ref = ref
        person = faker.provider("faker.providers.person")
        self.surnames = list(person.last_names.keys())
        self.surname_cum = list(itertools.accumulate(person.last_names.values()))
        self.faker_male = list(person.first_names_male)
        self.faker_female = list(person.first_names_female)
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()

    # ---- single values ---------------------------------------------------------------------------

    def surname(self) -> str:
        return self.rng.choices(self.surnames, cum_weights=self.surname_cum)[0]

    def given(self, sex: str) -> str:
        r = self.rng
        if r.random() < 0.4:
            return r.choice(self.faker_male if sex == "M" else self.faker_female)
        chars = data.GIVEN_MALE if sex == "M" else data.GIVEN_FEMALE
        if r.random() < 0.25:
            return r.choice(chars)
        return r.choice(chars) + r.choice(chars)

    def name(self, sex: str, surname: str | None = None) -> str:
        return (surname or self.surname()) + self.given(sex)

    def birth(self, age: int) -> dt.date:
        days = int(age * 365.2425) + self.rng.randint(1, 364)
        return self.ref - dt.timedelta(days=days)

    def resident_id(self, region: str, birth: dt.date, sex: str) -> str:
        r = self.rng
        while True:
            order = r.randint(0, 99)
            sex_digit = r.choice("13579" if sex == "M" else "02468")
            first17 = f"{region}{birth:%Y%m%d}{order:02d}{sex_digit}"
            if first17 not in self.used_ids:
                self.used_ids.add(first17)
                return first17 + id_check_char(first17)

    def phone(self) -> str:
        r = self.rng
        while True:
            number = r.choice(data.MOBILE_PREFIXES) + f"{r.randint(0, 99_999_999):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def region(self, origin: str, birth: dt.date) -> str:
        r = self.rng
        born_here = birth.year >= 2016 and r.random() < (0.9 if origin in ("local", "chengdu") else 0.5)
        if origin == "local" or born_here:
            if r.random() < 0.1 and not born_here:
                return r.choice(data.CHENGDU_REGIONS)
            return data.SHUANGLIU_NEW if birth.year >= 2016 else data.SHUANGLIU_OLD
        if origin == "chengdu":
            return r.choice(data.CHENGDU_REGIONS)
        if origin == "sichuan":
            return r.choice(data.SICHUAN_REGIONS)
        return r.choice(data.OTHER_REGIONS)

    def household_size(self) -> int:
        return self.rng.choices((1, 2, 3, 4, 5, 6), weights=_SIZE_WEIGHTS)[0]

    # ---- households ------------------------------------------------------------------------------

    def _shape(self, size: int, shared_rent: bool) -> Sequence[Shape]:
        """(relation, sex, age, surname rule) for each member; the rule is "head" (the head's surname
        when the head is a man) or "fresh"."""
        r = self.rng
        opposite = {"M": "F", "F": "M"}
        if shared_rent and size >= 2:
            return [(Relation.HEAD, r.choice("MF"), r.randint(20, 38), "fresh")] + [
                (Relation.TENANT, r.choice("MF"), r.randint(19, 38), "fresh") for _ in range(size - 1)
            ]
        if size == 1:
            if r.random() < 0.3:
                return [(Relation.HEAD, "F" if r.random() < 0.6 else "M", r.randint(60, 92), "fresh")]
            return [(Relation.HEAD, r.choice("MF"), r.randint(20, 59), "fresh")]
        if size == 2:
            x = r.random()
            if x < 0.4:
                age = r.randint(60, 86)
                return [
                    (Relation.HEAD, "M", age, "fresh"),
                    (Relation.SPOUSE, "F", max(55, age + r.randint(-5, 2)), "fresh"),
                ]
            if x < 0.75:
                sex = "M" if r.random() < 0.8 else "F"
                age = r.randint(23, 45)
                return [
                    (Relation.HEAD, sex, age, "fresh"),
                    (Relation.SPOUSE, opposite[sex], max(20, age + r.randint(-4, 3)), "fresh"),
                ]
            age = r.randint(32, 60)
            return [
                (Relation.HEAD, "F" if r.random() < 0.7 else "M", age, "fresh"),
                (Relation.CHILD, r.choice("MF"), r.randint(0, min(28, age - 22)), "head"),
            ]
        # Three and more: a couple with children, parents or grandchildren.
        elder = size >= 5
        age = r.randint(50, 70) if elder else r.randint(27, 52)
        members: list[Shape] = [
            (Relation.HEAD, "M" if r.random() < 0.85 else "F", age, "fresh"),
            (Relation.SPOUSE, "", max(22, age + r.randint(-5, 3)), "fresh"),
        ]
        members[1] = (Relation.SPOUSE, opposite[members[0][1]], members[1][2], "fresh")
        rest = size - 2
        if elder:
            child_age = r.randint(max(22, age - 32), max(23, age - 22))
            members.append((Relation.CHILD, "M", child_age, "head"))
            members.append((Relation.OTHER, "F", max(20, child_age + r.randint(-3, 2)), "fresh"))
            for _ in range(rest - 2):
                members.append(
                    (Relation.GRANDCHILD, r.choice("MF"), r.randint(0, min(18, child_age - 20)), "head")
                )
            return members
        with_parent = rest >= 1 and r.random() < (0.15 if size == 3 else 0.5)
        children = rest - (1 if with_parent else 0)
        for _ in range(children):
            members.append((Relation.CHILD, r.choice("MF"), r.randint(0, min(26, age - 22)), "head"))
        if with_parent:
            p_age = min(96, age + r.randint(22, 34))
            members.append((Relation.PARENT, r.choice("MF"), p_age, "head"))
        return members

    def household(self, size: int, kind: str, *, rental: bool) -> list[Member]:
        """A household of `size` people in a compound of `kind`; renters come from further away."""
        r = self.rng
        weights = _ORIGIN_WEIGHTS["rental" if rental else kind]
        origin = r.choices(_ORIGINS, weights=weights)[0]
        shared_rent = rental and size >= 2 and r.random() < 0.15
        shape = self._shape(size, shared_rent)
        head_surname = self.surname()
        members: list[Member] = []
        for relation, sex, age, rule in shape:
            if relation == Relation.HEAD or (rule == "head" and shape[0][1] == "M"):
                surname = head_surname
            else:
                surname = self.surname()
            birth = self.birth(max(0, age))
            member = Member(relation=relation, sex=sex, birth=birth, name=self.name(sex, surname))
            # Spouses and tenants often come from elsewhere than the head.
            own_origin = origin if relation != Relation.SPOUSE or r.random() < 0.7 else r.choice(_ORIGINS)
            if age >= 18 and (rental or kind == "commercial") and r.random() < 0.006:
                self._foreign_document(member)
            else:
                member.id_number = self.resident_id(self.region(own_origin, birth), birth, sex)
            phone_rate = 0.96 if 16 <= age < 80 else (0.55 if age >= 80 else (0.4 if age >= 12 else 0))
            if r.random() < phone_rate:
                member.phone = self.phone()
            members.append(member)
        self._care_tags(members)
        return members

    def _foreign_document(self, member: Member) -> None:
        r = self.rng
        x = r.random()
        if x < 0.5:
            member.id_type = IdType.HK_MACAO_PERMIT
            member.id_number = r.choice("HM") + f"{r.randint(0, 99_999_999):08d}"
        elif x < 0.7:
            member.id_type = IdType.TAIWAN_PERMIT
            member.id_number = f"{r.randint(0, 99_999_999):08d}"
        else:
            member.id_type = IdType.PASSPORT
            member.name = r.choice(data.FOREIGN_NAMES)
            member.id_number = r.choice("EGKMPS") + f"{r.randint(0, 99_999_999):08d}"
        # Document numbers of other kinds may repeat by chance; the register keeps them unique.
        key = f"{member.id_type}:{member.id_number}"
        if key in self.used_ids:
            member.id_number += r.choice("ABCDEFGH")
        self.used_ids.add(f"{member.id_type}:{member.id_number}")

    def age(self, birth: dt.date) -> int:
        ref = self.ref
        return ref.year - birth.year - ((ref.month, ref.day) < (birth.month, birth.day))

    def _care_tags(self, members: list[Member]) -> None:
        r = self.rng
        has_couple = any(m.relation == Relation.SPOUSE for m in members)
        for m in members:
            age = self.age(m.birth)
            if len(members) == 1 and age >= 60:
                m.tags.append((CareTagKind.ELDERLY_ALONE, r.choice(data.ELDERLY_ALONE_NOTES)))
            if age < 3:
                m.tags.append((CareTagKind.INFANT, ""))
            if (
                m.sex == "F"
                and 22 <= age <= 40
                and has_couple
                and m.relation in (Relation.HEAD, Relation.SPOUSE)
                and r.random() < 0.06
            ):
                due = self.ref + dt.timedelta(days=r.randint(20, 270))
                m.tags.append((CareTagKind.PREGNANT, f"预产期 {due:%Y-%m}"))
            if r.random() < (0.04 if age >= 60 else 0.012):
                m.tags.append((CareTagKind.DISABLED, r.choice(data.DISABILITY_NOTES)))
            if r.random() < (0.015 if age >= 60 else (0.004 if age >= 40 else 0.0005)):
                m.tags.append((CareTagKind.REGULAR_TREATMENT, r.choice(data.TREATMENT_NOTES)))
            if r.random() < (0.06 if age >= 75 else (0.01 if age >= 60 else 0.0003)):
                m.tags.append((CareTagKind.BEDRIDDEN, r.choice(data.BEDRIDDEN_NOTES)))


def household_sizes(rng: random.Random, factory: PeopleFactory, count: int, total: int) -> list[int]:
    """`count` household sizes (1–8) drawn from the usual distribution, then nudged to sum to `total`."""
    if not count <= total <= 8 * count:
        raise ValueError(f"{total} people cannot fill {count} households of 1–8")
    sizes = [factory.household_size() for _ in range(count)]
    diff = total - sum(sizes)
    while diff:
        i = rng.randrange(count)
        if diff > 0 and sizes[i] < 8:
            sizes[i] += 1
            diff -= 1
        elif diff < 0 and sizes[i] > 1:
            sizes[i] -= 1
            diff += 1
    return sizes
