"""Generating the demo's places: exactly 218 clinics and 222 pharmacies (article, D1), fever clinics,
shops, restaurants, sites, depots, cafés, homestays, schools, enterprise sites (43 of them in Longhe's
association, G1), offices and one gate per compound — each with a venue code, address and position."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jiedao.core.identity import credit_check_char
from jiedao.demo import data
from jiedao.demo.geo import Cell
from jiedao.places.choices import PlaceKind

# Matches jiedao.places.actions (and the brief's alphabet without L): no 0/O, 1/I/L on a poster.
VENUE_CODE_PREFIX = "HY"
VENUE_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
VENUE_CODE_LENGTH = 8
_CREDIT_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass
class GridUnit:
    """A grid with what the generators need: its community's spec, the rows and its outline cell."""

    spec: data.CommunitySpec
    community: Any
    grid: Any
    cell: Cell
    residents: int = 0


@dataclass
class CompoundRef:
    pk: int
    name: str
    address: str
    unit: GridUnit
    lat: float
    lng: float


@dataclass
class PlanPlace:
    kind: str
    name: str
    address: str
    unit: GridUnit
    lat: float
    lng: float
    venue_code: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    credit_code: str = ""


def place_counts(scale: int) -> dict[str, int]:
    """How many places of each kind a subdistrict of `scale` residents has; clinics and pharmacies are
    the article's figures at every scale, the rest grow with the population (30,000 = factor 1)."""
    k = scale / 30000

    def grow(base: float, floor: int) -> int:
        return max(floor, round(base * k))

    return {
        PlaceKind.CLINIC: data.CLINICS,
        PlaceKind.PHARMACY: data.PHARMACIES,
        PlaceKind.FEVER_CLINIC: len(data.FEVER_CLINICS),
        PlaceKind.HOSPITAL: len(data.HOSPITALS),
        PlaceKind.MERCHANT: grow(380, 20),
        PlaceKind.SUPERMARKET: grow(36, 5),
        PlaceKind.MARKET: grow(4, 2),
        PlaceKind.RESTAURANT: grow(240, 15),
        PlaceKind.CONSTRUCTION_SITE: grow(14, 3),
        PlaceKind.PARCEL_DEPOT: grow(24, 4),
        PlaceKind.INTERNET_CAFE: grow(10, 2),
        PlaceKind.HOMESTAY: grow(28, 3),
        PlaceKind.HOTEL: grow(8, 2),
        PlaceKind.SCHOOL: min(len(data.SCHOOLS), grow(10, 3)),
        PlaceKind.KINDERGARTEN: grow(16, 4),
        PlaceKind.ENTERPRISE_SITE: data.LONGHE_MEMBER_ENTERPRISES + grow(60, 10),
    }


def _branch(name: str, n: int) -> str:
    """The n-th branch of a name: 一心堂（龙河路店） → 一心堂（龙河路二店）, 王记面馆 → 王记面馆（二）."""
    number = data.chinese_number(n)
    if name.endswith("店）"):
        return f"{name[:-2]}{number}店）"
    return f"{name}（{number}）"


class VenuePlanner:
    def __init__(
        self,
        rng: random.Random,
        faker: Any,
        units: Sequence[GridUnit],
        compounds: Sequence[CompoundRef],
        person_name: Callable[[str], str],
        phone: Callable[[], str],
    ) -> None:
        self.rng = rng
        self.faker = faker
        self.units = list(units)
        self.compounds = list(compounds)
        self.person_name = person_name
        self.phone = phone
        mean = sum(u.residents for u in self.units) / max(1, len(self.units))
        # Busy grids have more shops, but every grid has some.
        self.weights = [u.residents + mean * 0.5 + 1 for u in self.units]
        self.codes: set[str] = set()
        self.names: set[tuple[str, str]] = set()
        self.places: list[PlanPlace] = []

    def _venue_code(self) -> str:
        while True:
            code = VENUE_CODE_PREFIX + "".join(self.rng.choices(VENUE_CODE_ALPHABET, k=VENUE_CODE_LENGTH))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def _credit_code(self, individual: bool) -> str:
        # Registration 9 (market regulator), type 1 (company) or 2 (individual business), Chengdu's
        # area code, then an organisation code that always holds letters ("MA…").
        body = ("92" if individual else "91") + "510100" + "MA" + "".join(self.rng.choices(_CREDIT_BODY, k=7))
        return body + credit_check_char(body)

    def _unit(self, community_slug: str | None = None) -> GridUnit:
        if community_slug:
            pool = [u for u in self.units if u.spec.slug == community_slug]
            return self.rng.choice(pool)
        return self.rng.choices(self.units, weights=self.weights)[0]

    def _address(self, unit: GridUnit, road: str | None) -> str:
        return (
            f"{data.SUBDISTRICT_NAME}{road or self.rng.choice(unit.spec.roads)}{self.rng.randint(1, 399)}号"
        )

    def add(
        self,
        kind: str,
        name: str,
        unit: GridUnit | None = None,
        *,
        road: str | None = None,
        address: str = "",
        point: tuple[float, float] | None = None,
        business: str = "",
    ) -> PlanPlace:
        unit = unit or self._unit()
        base, n = name, 2
        while (kind, name) in self.names:  # the same chain twice on one road: number the branch
            name = _branch(base, n)
            n += 1
        self.names.add((kind, name))
        if point is None:
            point = unit.cell.point(self.rng.uniform(0.08, 0.92), self.rng.uniform(0.08, 0.92))
        place = PlanPlace(
            kind=kind,
            name=name,
            address=address or self._address(unit, road),
            unit=unit,
            lng=round(point[0], 6),
            lat=round(point[1], 6),
            venue_code=self._venue_code(),
            contact_name=self.person_name(self.rng.choice("MF")),
            contact_phone=self.phone(),
            credit_code=self._credit_code(business == "individual") if business else "",
        )
        self.places.append(place)
        return place

    def plan(self, scale: int) -> list[PlanPlace]:
        r = self.rng
        counts = place_counts(scale)
        for _ in range(counts[PlaceKind.CLINIC]):
            unit = self._unit()
            road = r.choice(unit.spec.roads)
            style = r.random()
            if style < 0.45:
                name = f"{self.person_name(r.choice('MF'))}诊所"
            elif style < 0.6:
                name = f"华阳{road}社区卫生服务站"
            else:
                name = f"{r.choice(data.COMPOUND_PREFIXES)}{r.choice(data.CLINIC_KINDS)}"
            self.add(PlaceKind.CLINIC, name, unit, road=road, business="individual")
        for _ in range(counts[PlaceKind.PHARMACY]):
            unit = self._unit()
            road = r.choice(unit.spec.roads)
            name = f"{r.choice(data.PHARMACY_CHAINS)}（{road}店）"
            self.add(PlaceKind.PHARMACY, name, unit, road=road, business="company")
        for name in data.FEVER_CLINICS:
            self.add(PlaceKind.FEVER_CLINIC, name)
        for name in data.HOSPITALS:
            self.add(PlaceKind.HOSPITAL, name)
        for _ in range(counts[PlaceKind.MERCHANT]):
            owner = self.person_name(r.choice("MF"))
            name = (owner[0] if r.random() < 0.5 else "老" + owner[0]) + "记" + r.choice(data.MERCHANT_KINDS)
            self.add(PlaceKind.MERCHANT, name, business="individual")
        for _ in range(counts[PlaceKind.SUPERMARKET]):
            unit = self._unit()
            road = r.choice(unit.spec.roads)
            name = f"{r.choice(data.SUPERMARKETS)}（{road}店）"
            self.add(PlaceKind.SUPERMARKET, name, unit, road=road, business="company")
        for i in range(counts[PlaceKind.MARKET]):
            self.add(PlaceKind.MARKET, f"华阳第{data.chinese_number(i + 1)}农贸市场")
        for _ in range(counts[PlaceKind.RESTAURANT]):
            name = f"{self.person_name(r.choice('MF'))[0]}{r.choice(('记', '氏', '家', '老'))}{r.choice(data.RESTAURANT_KINDS)}"
            self.add(PlaceKind.RESTAURANT, name, business="individual")
        for _ in range(counts[PlaceKind.CONSTRUCTION_SITE]):
            project = f"{r.choice(data.COMPOUND_PREFIXES)}{r.choice(('安置房', '商住', '学校', '综合体'))}"
            name = f"{r.choice(data.BUILDERS)}{project}{data.chinese_number(r.randint(1, 4))}期项目工地"
            self.add(PlaceKind.CONSTRUCTION_SITE, name, business="company")
        for _ in range(counts[PlaceKind.PARCEL_DEPOT]):
            unit = self._unit()
            brand = r.choice(data.PARCEL_BRANDS)
            where = r.choice([c.name for c in self.compounds if c.unit is unit] or list(unit.spec.roads))
            self.add(PlaceKind.PARCEL_DEPOT, f"{brand}（{where}网点）", unit, business="company")
        for _ in range(counts[PlaceKind.INTERNET_CAFE]):
            unit = self._unit()
            road = r.choice(unit.spec.roads)
            name = f"{r.choice(data.CAFE_BRANDS)}（{road}店）"
            self.add(PlaceKind.INTERNET_CAFE, name, unit, road=road, business="individual")
        for _ in range(counts[PlaceKind.HOMESTAY]):
            word = r.choice(("小院", "民宿", "客栈", "公寓", "青年旅舍"))
            self.add(PlaceKind.HOMESTAY, f"{r.choice(data.COMPOUND_PREFIXES)}{word}", business="individual")
        for _ in range(counts[PlaceKind.HOTEL]):
            unit = self._unit()
            road = r.choice(unit.spec.roads)
            self.add(PlaceKind.HOTEL, f"{r.choice(data.HOTEL_BRANDS)}（华阳{road}店）", unit, road=road)
        for name in data.SCHOOLS[: counts[PlaceKind.SCHOOL]]:
            self.add(PlaceKind.SCHOOL, name)
        for _ in range(counts[PlaceKind.KINDERGARTEN]):
            unit = self._unit()
            where = r.choice([c.name for c in self.compounds if c.unit is unit] or [unit.spec.name[:-2]])
            self.add(PlaceKind.KINDERGARTEN, f"{where}幼儿园", unit)
        for i in range(counts[PlaceKind.ENTERPRISE_SITE]):
            # The first 43 are the members of Longhe's association of new enterprises (G1).
            unit = self._unit(data.LIAISON_COMMUNITY if i < data.LONGHE_MEMBER_ENTERPRISES else None)
            city = r.choice(("成都", "四川", "天府"))
            self.add(PlaceKind.ENTERPRISE_SITE, f"{city}{self.faker.company()}", unit, business="company")
        self.add(PlaceKind.OFFICE, "华阳街道办事处", self._unit())
        for unit in self.units:
            if unit.grid.code.endswith("-01"):
                self.add(PlaceKind.OFFICE, f"{unit.spec.name}党群服务中心", unit)
        for c in self.compounds:
            self.add(
                PlaceKind.COMPOUND_GATE,
                f"{c.name}{r.choice(('正门', '大门', '东门', '南门'))}",
                c.unit,
                address=c.address,
                point=(c.lng, c.lat),
            )
        return self.places
