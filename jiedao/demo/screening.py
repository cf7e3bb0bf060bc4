"""The demo's screening stage: a week of pushed lists ending today, received, verified and handed back
through the screening actions, so the demo shows what real intake leaves behind.

- Fourteen lists, one at 08:30 and one at 17:00 on each of the last seven days, from every source (red
  and yellow codes, starred itineraries, arrivals from risk areas, close and secondary contacts,
  spatio-temporal companions, fever-medicine buyers at the demo's pharmacies): about one entry for every
  ENTRY_EVERY residents, written as xlsx files in the headers city platforms use, and received by the
  `command` login through `check_list_meta`, `do_stage_list` and `do_receive_list`.
- The mix: most entries are register residents (their own ID, phone and household address), some only
  by phone, a few under a misspelt name; some people are not on the register (new persons, with an
  address in a demo compound or outside the subdistrict: the dispatch queue); some appear on two lists.
- What happened since, replayed in time order: the grid worker of the person's grid verifies them
  (`do_verify_key_person` with `today` = the day of the call; mostly reached at home and classified,
  some unreachable, a few elsewhere or the wrong person), community staff hand a few back and the
  command centre dispatches some of those again. Recent ones are still open, some are past their
  deadline. Actions stamp "now"; the stage moves those stamps (verified, done, handed back) back to the
  simulated moment so the week reads as a week — the audit log keeps the real times.
- The Nanhu grid's worker (grid_binjiang_1) always gets several of them, at least one overdue.
- Deterministic for a seed (the `screening` random stream), except that lists and calls that would lie
  in the future when the demo is built (late today) are moved to just before now or left out.
"""

from __future__ import annotations

import datetime as dt
import gc
import heapq
import io
import random
import time
from dataclasses import dataclass, field
from typing import Any

import xlsxwriter
from django.db.models import Count
from django.utils import timezone

from jiedao.core import audit
from jiedao.demo import data
from jiedao.demo.people import PeopleFactory
from jiedao.demo.state import BuildState
from jiedao.org.choices import Role
from jiedao.org.models import Community, RoleAssignment, User
from jiedao.places.choices import PlaceKind
from jiedao.places.models import Place
from jiedao.protocols.registry import get_protocol
from jiedao.registry.choices import IdType
from jiedao.registry.models import Person, Resident
from jiedao.screening import actions
from jiedao.screening.choices import OPEN_STATUSES, VERIFIED_STATUSES, KeyPersonStatus, Outcome, Source
from jiedao.screening.models import HandBack, KeyPerson, PushedEntry, PushedList, Verification
from jiedao.screening.proposal import propose
from jiedao.work.actions import do_start_work_item
from jiedao.work.choices import WorkStatus
from jiedao.work.models import WorkItem

ENTRY_EVERY = 60  # one pushed entry for every 60 residents (500 at the default 30,000)
MIN_ENTRIES = 42
DAYS = 7
SLOTS = ((8, 30), (17, 0))
MIN_AGE = 12  # younger children are pushed with their parents only as contacts, which the demo leaves out


@dataclass(frozen=True)
class ListSpec:
    days_ago: int
    slot: int  # index into SLOTS
    source: str
    share: float  # of the week's entries
    layout: str  # the headers (LAYOUTS)
    title: str  # {md}: 5月30日
    issuer: str


_CITY = "成都市疫情防控指挥部"
_AREA = "天府新区疫情防控指挥部"
_TRACE = "成都市疫情防控指挥部流调溯源组"
LISTS: tuple[ListSpec, ...] = (
    ListSpec(6, 0, Source.RISK_AREA_ARRIVAL, 0.11, "arrivals", "{md}第1批中高风险地区来（返）蓉人员核查名单", _CITY),
    ListSpec(6, 1, Source.YELLOW_CODE, 0.06, "codes", "{md}黄码人员协查名单", _AREA),
    ListSpec(5, 0, Source.STARRED_ITINERARY, 0.06, "phones", "{md}行程卡带星人员推送名单", _AREA),
    ListSpec(5, 1, Source.CLOSE_CONTACT, 0.05, "contacts", "{md}密切接触者协查函", _TRACE),
    ListSpec(4, 0, Source.RISK_AREA_ARRIVAL, 0.10, "arrivals", "{md}第2批中高风险地区来（返）蓉人员核查名单", _CITY),
    ListSpec(4, 1, Source.SECONDARY_CONTACT, 0.06, "contacts", "{md}次密接人员推送名单", _TRACE),
    ListSpec(3, 0, Source.RED_CODE, 0.03, "codes", "{md}红码人员核查名单", _AREA),
    ListSpec(3, 1, Source.FEVER_MEDICINE, 0.06, "fever", "{md}辖区药店退热类药品购买人员名单", "天府新区市场监管局"),
    ListSpec(2, 0, Source.RISK_AREA_ARRIVAL, 0.10, "arrivals", "{md}第3批中高风险地区来（返）蓉人员核查名单", _CITY),
    ListSpec(2, 1, Source.COMPANION, 0.08, "phones", "{md}时空伴随者协查名单", "天府新区公安分局"),
    ListSpec(1, 0, Source.CLOSE_CONTACT, 0.05, "contacts", "{md}密切接触者协查函（补充）", _TRACE),
    ListSpec(1, 1, Source.STARRED_ITINERARY, 0.06, "phones", "{md}行程卡带星人员推送名单", _AREA),
    ListSpec(0, 0, Source.RISK_AREA_ARRIVAL, 0.10, "arrivals", "{md}第4批中高风险地区来（返）蓉人员核查名单", _CITY),
    ListSpec(0, 1, Source.COMPANION, 0.08, "phones", "{md}时空伴随者协查名单", "天府新区公安分局"),
)  # fmt: skip

# (header as the platform writes it, field)
LAYOUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "arrivals": (("序号", "seq"), ("姓名", "name"), ("性别", "sex"), ("身份证号码", "id"), ("联系电话", "phone"),
                 ("来源地", "origin"), ("抵达时间", "arrived"), ("现居住地址", "address"), ("风险类别", "category")),
    "contacts": (("序号", "seq"), ("姓名", "name"), ("证件号码", "id"), ("手机号码", "phone"),
                 ("末次接触时间", "exposed"), ("现住址", "address"), ("备注", "note")),
    "codes": (("序号", "seq"), ("姓名", "name"), ("身份证号", "id"), ("手机号", "phone"), ("现住址", "address"),
              ("情况说明", "note")),
    "phones": (("编号", "seq"), ("姓名", "name"), ("手机号码", "phone"), ("身份证号", "id"), ("途经地", "origin"),
               ("接触时间", "exposed"), ("详细地址", "address"), ("备注", "note")),
    "fever": (("序号", "seq"), ("姓名", "name"), ("性别", "sex"), ("身份证号", "id"), ("联系电话", "phone"),
              ("现住址", "address"), ("备注", "note")),
}  # fmt: skip

# How a list's entries are made up, by layout: register by ID, by phone only, under a misspelt name, new
# persons living in a demo compound or outside the subdistrict, and people already on an earlier list.
KINDS = ("register", "phone_only", "mismatch", "new_local", "new_outside", "repeat")
KIND_WEIGHTS = {
    "arrivals": (58, 5, 2, 18, 6, 8),
    "contacts": (72, 8, 3, 8, 3, 6),
    "codes": (73, 6, 3, 7, 3, 8),
    "phones": (38, 40, 2, 8, 5, 7),
    "fever": (80, 5, 3, 6, 2, 4),
}
# Rows every build has, so each part of the mix shows at every scale: (list index, kind, forced fate).
FORCED_ROWS = (
    (0, "new_outside", ""), (1, "new_local", "hand_back"), (2, "mismatch", ""), (4, "repeat", ""),
    (6, "new_local", "hand_back"), (6, "new_outside", ""), (8, "repeat", ""), (9, "mismatch", ""),
    (12, "repeat", ""),
)  # fmt: skip
# Residents of the Nanhu grid on the lists, and what became of them: their worker's Today page.
SHOWCASE = ((5, "verify"), (7, "unreachable_open"), (8, "open"), (11, "open"), (12, "open"), (13, "open"))

RISK_ORIGINS = {
    "high": ("上海市浦东新区", "上海市闵行区", "吉林省长春市朝阳区", "吉林省吉林市船营区"),
    "medium": ("广东省广州市白云区", "北京市朝阳区", "辽宁省沈阳市和平区", "天津市津南区", "上海市徐汇区"),
    "low": ("上海市", "北京市", "广东省广州市", "广东省深圳市", "河南省郑州市", "重庆市", "吉林省长春市",
            "西藏自治区拉萨市"),
}  # fmt: skip
RISK_WEIGHTS = {"high": 15, "medium": 30, "low": 55}
RISK_LABELS = {"high": "高风险区来返人员", "medium": "中风险区来返人员", "low": "低风险区来返人员"}
STAR_CITIES = ("上海市", "北京市", "广州市", "深圳市", "长春市", "西安市", "郑州市", "重庆市", "拉萨市")
COMPANION_SPOTS = ("武侯区某商场", "双流区某农贸市场", "锦江区某地铁站", "高新区某写字楼", "天府新区某超市")
OUTSIDE_ADDRESSES = (
    "成都市双流区东升街道白衣上街12号", "成都市武侯区簇桥街道七里村5组", "成都市高新区石羊街道天府二街138号",
    "眉山市仁寿县文林镇书院路8号", "成都市锦江区春熙路街道总府路21号", "成都市新津区五津街道兴园路66号",
    "资阳市雁江区三贤祠街道娇子大道9号", "成都市龙泉驿区龙泉街道驿都大道中路300号",
)  # fmt: skip
NOTES: dict[str, tuple[str, ...]] = {
    Source.CLOSE_CONTACT: ("与病例同住", "与病例同一工作场所", "与病例同桌就餐", "与病例同乘一辆车"),
    Source.SECONDARY_CONTACT: ("密接者的同住人员", "与密接者同一办公室", "与密接者共同就餐"),
    Source.RED_CODE: ("与确诊病例同乘一趟航班", "涉疫场所停留超过30分钟", "高风险区旅居史", "判定为密切接触者"),
    Source.YELLOW_CODE: ("核酸检测超过72小时", "中风险区旅居史", "时空伴随", "与涉疫场所有时空交集"),
}  # fmt: skip
DRUGS = (
    "布洛芬缓释胶囊",
    "对乙酰氨基酚片",
    "复方氨酚烷胺片",
    "连花清瘟胶囊",
    "阿莫西林胶囊",
    "头孢克肟分散片",
)
HOMOPHONES = dict(
    zip("静丽伟军华明红玲艳敏刚涛婷杰芳勇林", "晶莉玮俊桦铭虹琳燕民钢滔亭洁方永琳", strict=True)
)
REACHED_NOTES = (
    "电话联系本人，核实在家",
    "上门核实，本人在家",
    "电话联系家属，核实本人在家",
    "与物业一同上门核实",
)
UNREACHABLE_NOTES = ("电话无人接听，上门无人应答", "电话关机，已请物业协助查找", "号码为空号，上门家中无人")
ELSEWHERE = ("已离开华阳，现在成都市武侯区亲戚家", "在外地出差（重庆市渝中区）", "已返回上海市浦东新区",
             "现住成都市双流区东升街道")  # fmt: skip
WRONG_NOTES = ("电话为他人使用，名单人员不在此处", "同名同姓，证件号不符")
# Why a community hands a person back; "{community}" names another demo community, which the command
# centre then dispatches the person to.
HAND_BACK_REASONS = (
    "经核实，该地址无此人，物业登记中也查无此人",
    "该人员已搬离本社区，现住{community}",
    "房屋已出售，新业主不认识此人",
)
# A classify-only category: what verified people turned out to be (weights; "" = no measure needed).
CLASSIFY_WEIGHTS: dict[str, dict[str, int]] = {
    "red_code": {"close_contact": 35, "secondary_contact": 25, "companion": 25, "high_risk_area_arrival": 5,
                 "medium_risk_area_arrival": 10},
    "yellow_code": {"secondary_contact": 10, "companion": 35, "medium_risk_area_arrival": 15,
                    "low_risk_area_arrival": 35, "": 5},
}  # fmt: skip


@dataclass
class Identity:
    """One person the lists name, as the week knows them."""

    who: str  # "p<pk>" (register) or "n<k>" (new)
    name: str
    id_number: str
    phone: str
    sex: str
    address: str


@dataclass
class Row:
    ident: Identity
    kind: str
    name: str
    show_id: bool = True
    fate: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    exposure: dt.date | None = None
    risk: str = ""  # starred itinerary: the risk of the area the person turns out to have visited
    symptoms: bool = False
    # What happens to the row's person draws from the row's own stream, so that a call left out (it
    # would lie in the future) changes nothing else.
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class Outcomes:
    verifications: int = 0
    hand_backs: int = 0


class _Week:
    def __init__(self, state: BuildState, now: dt.datetime) -> None:
        assert state.people is not None and state.demo_grid is not None
        self.state = state
        self.rng = state.rng("screening")
        self.now = now
        self.people = PeopleFactory(state.rng("screening-people"), state.faker, state.ref)
        # New people must not take a register resident's ID or phone: share what is used.
        self.people.used_ids = state.people.used_ids
        self.people.used_phones = state.people.used_phones
        self.total = max(MIN_ENTRIES, round(state.scale / ENTRY_EVERY))
        cutoff = dt.date(state.ref.year - MIN_AGE, 1, 1)
        pool = list(
            Resident.objects.filter(
                moved_out__isnull=True, person__id_type=IdType.RESIDENT_ID, person__birth_date__lt=cutoff
            )
            .order_by("pk")
            .values_list("person_id", "person__grid_id", "household__address")
        )
        demo_grid = state.demo_grid.grid.pk
        nanhu = [r for r in pool if r[1] == demo_grid]
        self.showcase = self.rng.sample(nanhu, min(len(SHOWCASE), len(nanhu)))
        taken = {r[0] for r in self.showcase}
        self.pool = [r for r in pool if r[0] not in taken]
        self.rng.shuffle(self.pool)
        self.next_pick = 0
        self.history: list[Identity] = []  # everyone named so far, but the showcase (left as planned)
        self.named: set[str] = set()
        self.new_count = 0
        self.pharmacies = list(
            Place.objects.filter(kind=PlaceKind.PHARMACY).order_by("pk").values_list("name", flat=True)
        )
        self.compounds = [c.name for c in state.compounds]

    # ---- times ----------------------------------------------------------------------------------

    def day(self, days_ago: int) -> dt.date:
        return timezone.localdate(self.now) - dt.timedelta(days=days_ago)

    def at(self, day: dt.date, hour: int, minute: int) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))

    def received_at(self, spec: ListSpec) -> dt.datetime:
        hour, minute = SLOTS[spec.slot]
        when = self.at(self.day(spec.days_ago), hour, minute)
        if when <= self.now:
            return when
        # Built before this list would have come in: it came in a little before now, still today and
        # after the day's earlier list.
        floor = self.at(self.day(0), 0, 0)
        if spec.slot > 0:
            earlier = self.at(self.day(0), *SLOTS[spec.slot - 1]) + dt.timedelta(minutes=5)
            floor = max(floor, min(self.now, earlier))
        return max(floor, self.now - dt.timedelta(minutes=15 * (len(SLOTS) - spec.slot)))

    # ---- people ---------------------------------------------------------------------------------

    def _new_identity(self, outside: bool) -> Identity:
        r, f = self.rng, self.people
        sex = r.choice("MF")
        birth = f.birth(r.randint(19, 64))
        number = f.resident_id(
            f.region(r.choice(("chengdu", "sichuan", "other", "other")), birth), birth, sex
        )
        if outside:
            address = r.choice(OUTSIDE_ADDRESSES)
        else:
            address = (
                f"{data.SUBDISTRICT_NAME}{r.choice(self.compounds)}{r.randint(1, 6)}栋{r.randint(1, 2)}单元"
                f"{r.randint(1, 18)}{r.randint(1, 4):02d}室"
            )
        self.new_count += 1
        return Identity(f"n{self.new_count}", f.name(sex), number, f.phone(), sex, address)

    def _address(self, household_address: str) -> str:
        x = self.rng.random()
        if x < 0.1:
            return ""
        if x < 0.3:
            return f"{data.ADDRESS_PREFIX}{household_address}"
        return f"{data.SUBDISTRICT_NAME}{household_address}"

    def _misspelt(self, name: str, sex: str) -> str:
        last = name[-1]
        swap = HOMOPHONES.get(last)
        if swap is None or swap == last:
            chars = data.GIVEN_MALE if sex == "M" else data.GIVEN_FEMALE
            swap = self.rng.choice([c for c in chars if c != last])
        return name[:-1] + swap

    def _pick_register(self) -> tuple[int, str]:
        person_id, _grid, address = self.pool[self.next_pick % len(self.pool)]
        self.next_pick += 1
        return person_id, address

    def rows_for(self, index: int, spec: ListSpec) -> list[Row]:
        r = self.rng
        total_share = sum(s.share for s in LISTS)
        size = max(3, round(self.total * spec.share / total_share))
        kinds: list[tuple[str, str]] = [(k, fate) for i, k, fate in FORCED_ROWS if i == index]
        weights = KIND_WEIGHTS[spec.layout]
        while len(kinds) < size:
            kinds.append((r.choices(KINDS, weights=weights)[0], ""))
        register: list[tuple[int, str, str, str]] = []  # person id, household address, kind, fate
        for k, (showcase_at, fate) in enumerate(SHOWCASE):
            if showcase_at == index and k < len(self.showcase):
                register.append((self.showcase[k][0], self.showcase[k][2], "register", fate))
        planned: list[tuple[str, str, Identity | None]] = []
        in_list = set()
        for kind, fate in kinds:
            if kind == "repeat":
                earlier = [r.choice(self.history) for _try in range(5)] if self.history else []
                ident = next((i for i in earlier if i.who not in in_list), None)
                if ident is not None:
                    in_list.add(ident.who)
                    planned.append((kind, fate, ident))
                    continue
                kind = "register"
            if kind in ("new_local", "new_outside"):
                ident = self._new_identity(kind == "new_outside")
                in_list.add(ident.who)
                planned.append((kind, fate, ident))
                continue
            person_id, address = self._pick_register()
            register.append((person_id, address, kind, fate))
        found = {
            p["pk"]: p
            for p in Person.objects.filter(pk__in=[x[0] for x in register]).values(
                "pk", "name", "id_number", "phone", "sex"
            )
        }
        for person_id, address, kind, fate in register:
            p = found[person_id]
            who = f"p{person_id}"
            if who in in_list:
                continue
            in_list.add(who)
            ident = Identity(who, p["name"], p["id_number"], p["phone"], p["sex"], self._address(address))
            planned.append((kind, fate, ident))
        rows = []
        for kind, fate, ident in planned:
            assert ident is not None
            row = Row(ident=ident, kind=kind, name=ident.name, fate=fate)
            if kind == "phone_only" and ident.phone:
                row.show_id = False
            if kind == "mismatch":
                row.name = self._misspelt(ident.name, ident.sex)
            rows.append(row)
        r.shuffle(rows)
        for row in rows:
            row.rng = random.Random(r.getrandbits(64))
        showcase = {f"p{s[0]}" for s in self.showcase}
        for row in rows:
            if row.ident.who not in self.named and row.ident.who not in showcase:
                self.named.add(row.ident.who)
                self.history.append(row.ident)
        return rows

    # ---- the file -------------------------------------------------------------------------------

    def fill(self, spec: ListSpec, rows: list[Row], received: dt.datetime) -> None:
        """The source's own columns: where from, when, why."""
        r = self.rng
        for row in rows:
            v = row.values
            if spec.source == Source.RISK_AREA_ARRIVAL:
                risk = r.choices(list(RISK_WEIGHTS), weights=list(RISK_WEIGHTS.values()))[0]
                arrived = timezone.localtime(received) - dt.timedelta(minutes=r.randint(6 * 60, 60 * 60))
                v.update(origin=r.choice(RISK_ORIGINS[risk]), arrived=f"{arrived:%Y-%m-%d %H:%M}",
                         category=RISK_LABELS[risk])  # fmt: skip
                row.exposure = arrived.date()
            elif spec.source in (Source.CLOSE_CONTACT, Source.SECONDARY_CONTACT):
                exposed = timezone.localtime(received) - dt.timedelta(hours=r.randint(20, 72))
                v.update(exposed=f"{exposed:%Y-%m-%d %H:%M}", note=r.choice(NOTES[spec.source]))
                row.exposure = exposed.date()
            elif spec.source == Source.COMPANION:
                exposed = timezone.localtime(received) - dt.timedelta(hours=r.randint(18, 60))
                spot = r.choice(COMPANION_SPOTS)
                v.update(exposed=f"{exposed:%Y-%m-%d %H:%M}", note=f"与病例在{spot}时空交集超过10分钟")
                row.exposure = exposed.date()
            elif spec.source == Source.STARRED_ITINERARY:
                v["origin"] = r.choice(STAR_CITIES)
                row.risk = r.choices(list(RISK_WEIGHTS), weights=[8, 22, 70])[0]
                row.exposure = timezone.localdate(received) - dt.timedelta(days=r.randint(2, 6))
            elif spec.source in (Source.RED_CODE, Source.YELLOW_CODE):
                v["note"] = r.choice(NOTES[spec.source])
                row.exposure = timezone.localdate(received) - dt.timedelta(days=r.randint(1, 4))
            elif spec.source == Source.FEVER_MEDICINE:
                bought = timezone.localdate(received) - dt.timedelta(days=r.randint(0, 1))
                shop = r.choice(self.pharmacies) if self.pharmacies else "辖区药店"
                v["note"] = f"{bought.month}月{bought.day}日在{shop}购买{r.choice(DRUGS)}"
                row.symptoms = r.random() < 0.2

    def xlsx(self, spec: ListSpec, rows: list[Row], received: dt.datetime) -> bytes:
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {"in_memory": True})
        # A fixed creation date: the same seed gives the same file (and digest).
        book.set_properties({"created": timezone.localtime(received).replace(tzinfo=None)})
        sheet = book.add_worksheet("名单")
        layout = LAYOUTS[spec.layout]
        for j, (header, _key) in enumerate(layout):
            sheet.write_string(0, j, header)
        for i, row in enumerate(rows, start=1):
            ident = row.ident
            cells = {
                "seq": str(i),
                "name": row.name,
                "sex": {"M": "男", "F": "女"}.get(ident.sex, ""),
                "id": ident.id_number if row.show_id else "",
                "phone": ident.phone,
                "address": ident.address,
                **row.values,
            }
            for j, (_header, key) in enumerate(layout):
                value = cells.get(key) or ""
                if value:
                    sheet.write_string(i, j, str(value))
        book.close()
        return out.getvalue()


@dataclass(order=True)
class _Event:
    when: dt.datetime
    seq: int
    kind: str = field(compare=False)  # receive, verify, unreachable, elsewhere, wrong, hand_back, route
    list_index: int = field(default=-1, compare=False)
    kp_id: int = field(default=0, compare=False)
    round: int = field(default=0, compare=False)
    row: Row | None = field(default=None, compare=False)
    target: int = field(default=0, compare=False)  # route: the community


class _Replay:
    """The week in time order: lists come in, people are verified, handed back and dispatched."""

    def __init__(self, state: BuildState, week: _Week) -> None:
        self.state = state
        self.week = week
        self.now = week.now
        self.command = User.objects.get(username="command")
        self.workers: dict[int, Any] = {}
        self.staff: dict[int, Any] = {}
        for a in RoleAssignment.objects.filter(
            role__in=(Role.GRID_WORKER, Role.COMMUNITY_STAFF), active=True
        ).select_related("user"):
            if a.role == Role.GRID_WORKER and a.grid_id:
                self.workers.setdefault(a.grid_id, a.user)
            elif a.role == Role.COMMUNITY_STAFF and a.community_id:
                self.staff.setdefault(a.community_id, a.user)
        self.communities = list(Community.objects.order_by("pk"))
        self.events: list[_Event] = []
        self.seq = 0
        self.scheduled: set[tuple[int, int]] = set()
        self.out = Outcomes()

    def push(self, when: dt.datetime, kind: str, **kw: Any) -> None:
        if when > self.now:
            return  # not happened yet
        self.seq += 1
        heapq.heappush(self.events, _Event(when, self.seq, kind, **kw))

    def run(self) -> None:
        for index, spec in enumerate(LISTS):
            self.push(self.week.received_at(spec), "receive", list_index=index)
        while self.events:
            event = heapq.heappop(self.events)
            if event.kind == "receive":
                self.receive(event.list_index, event.when)
            else:
                self.act(event)

    # ---- intake ---------------------------------------------------------------------------------

    def receive(self, index: int, received: dt.datetime) -> None:
        spec = LISTS[index]
        week = self.week
        rows = week.rows_for(index, spec)
        week.fill(spec, rows, received)
        blob = week.xlsx(spec, rows, received)
        local = timezone.localtime(received)
        title = spec.title.format(md=f"{local.month}月{local.day}日")
        meta = actions.check_list_meta(
            title=title, issuer=spec.issuer, source=spec.source, received_at=received
        )
        plist = actions.do_stage_list(actor=self.command, meta=meta, filename=f"{title}.xlsx", data=blob)
        result = actions.do_receive_list(actor=self.command, plist=plist, data=blob)
        if not result.ok or result.previous is not None:
            raise RuntimeError(
                f"The demo list {title} was refused: {'; '.join(result.report.messages()[:5])}"
            )
        PushedList.objects.filter(pk=plist.pk).update(created_at=received, updated_at=received)
        by_row = {n: row for n, row in enumerate(rows, start=2)}
        entries = PushedEntry.objects.filter(pushed_list=plist).values_list(
            "row", "key_person_id", "key_person__status", "key_person__round"
        )
        for number, kp_id, status, round_ in entries.order_by("row"):
            if status != KeyPersonStatus.TO_VERIFY or (kp_id, round_) in self.scheduled:
                continue
            self.scheduled.add((kp_id, round_))
            self.plan(spec, received, kp_id, round_, by_row[number])

    def _fate(self, spec: ListSpec, r: random.Random) -> str:
        if spec.days_ago == 0:
            weights = {"open": 75, "verify": 25}
        elif spec.days_ago == 1:
            weights = {
                "open": 35,
                "verify": 49,
                "unreachable_open": 6,
                "elsewhere": 4,
                "wrong": 2,
                "hand_back": 2,
            }
        else:
            weights = {"verify": 72, "unreachable_then_verify": 7, "unreachable_open": 4, "open": 3,
                       "elsewhere": 5, "wrong": 3, "hand_back": 3}  # fmt: skip
        return r.choices(list(weights), weights=list(weights.values()))[0]

    def _work_time(self, received: dt.datetime, r: random.Random) -> dt.datetime:
        """When the grid worker gets to it: the same day for most, else the next morning."""
        local = timezone.localtime(received)
        same_day = local + dt.timedelta(minutes=r.randint(40, 360))
        if r.random() < 0.7 and same_day.hour < 22 and same_day.date() == local.date():
            return same_day
        start = self.week.at(local.date() + dt.timedelta(days=1), 8, 30)
        return start + dt.timedelta(minutes=r.randint(0, 600))

    def plan(self, spec: ListSpec, received: dt.datetime, kp_id: int, round_: int, row: Row) -> None:
        fate = row.fate or self._fate(spec, row.rng)
        if fate == "open":
            return
        when = self._work_time(received, row.rng)
        kw = {"kp_id": kp_id, "round": round_, "row": row}
        if fate == "unreachable_then_verify":
            self.push(when, "unreachable", **kw)
            self.push(when + dt.timedelta(hours=row.rng.randint(20, 28)), "verify", **kw)
        elif fate == "unreachable_open":
            self.push(when, "unreachable", **kw)
        else:
            self.push(when, fate, **kw)

    # ---- work -----------------------------------------------------------------------------------

    def act(self, event: _Event) -> None:
        kp = KeyPerson.objects.filter(pk=event.kp_id).first()
        if kp is None or kp.round != event.round:
            return
        if event.kind == "route":
            if kp.status == KeyPersonStatus.DISPATCH:
                self.route(kp, event)
            return
        if kp.status != KeyPersonStatus.TO_VERIFY or not kp.community_id:
            return
        if event.kind == "hand_back":
            self.hand_back(kp, event)
            return
        worker = self.workers.get(kp.grid_id or 0) or self.staff.get(kp.community_id)
        if worker is None:
            return
        row = event.row
        assert row is not None
        today = timezone.localdate(event.when)
        item_id = kp.work_item_id
        r = row.rng
        if event.kind == "verify":
            category, symptoms = self.category(kp, row, today)
            v = actions.do_verify_key_person(
                actor=worker, kp=kp, outcome=Outcome.REACHED_IN_AREA, attempts=r.choice((1, 1, 1, 2)),
                last_exposure=row.exposure, category=category, symptoms=symptoms,
                symptom_notes=f"发热 {r.choice(('37.6', '37.9', '38.2'))}℃" if symptoms else "",
                notes=r.choice(REACHED_NOTES), today=today,
            )  # fmt: skip
        elif event.kind == "unreachable":
            item = kp.work_item
            if item is not None and item.status == WorkStatus.OPEN:
                do_start_work_item(actor=worker, item=item)
                WorkItem.objects.filter(pk=item.pk).update(started_at=event.when)
            v = actions.do_verify_key_person(
                actor=worker, kp=kp, outcome=Outcome.UNREACHABLE, attempts=r.randint(2, 3),
                notes=r.choice(UNREACHABLE_NOTES), today=today,
            )  # fmt: skip
        elif event.kind == "elsewhere":
            v = actions.do_verify_key_person(
                actor=worker, kp=kp, outcome=Outcome.REACHED_ELSEWHERE, where=r.choice(ELSEWHERE),
                notes="电话联系本人", today=today,
            )  # fmt: skip
        elif event.kind == "wrong":
            v = actions.do_verify_key_person(
                actor=worker, kp=kp, outcome=Outcome.WRONG_PERSON, notes=r.choice(WRONG_NOTES), today=today
            )
        else:
            raise ValueError(f"unknown demo event {event.kind}")
        self.out.verifications += 1
        Verification.objects.filter(pk=v.pk).update(created_at=event.when, updated_at=event.when)
        if kp.status != KeyPersonStatus.TO_VERIFY:
            KeyPerson.objects.filter(pk=kp.pk).update(verified_at=event.when)
            if item_id:
                WorkItem.objects.filter(pk=item_id).update(done_at=event.when)

    def category(self, kp: KeyPerson, row: Row, today: dt.date) -> tuple[str, bool]:
        """What the worker confirms: the protocol's proposal, or for a verify-then-classify category
        what the person turned out to be."""
        protocol = get_protocol(kp.protocol_key)
        symptoms = row.symptoms
        proposal = propose(protocol, kp.category, last_exposure=row.exposure, symptoms=symptoms, today=today)
        if not protocol.category(kp.category).classify_only:
            return proposal.proposed, symptoms
        if kp.category == "starred_itinerary":
            weights = {f"{row.risk or 'low'}_risk_area_arrival": 85, "": 15}
        else:
            weights = CLASSIFY_WEIGHTS.get(kp.category, {})
        choices = [k for k in weights if k == "" or k in proposal.keys]
        if not choices:
            return proposal.proposed, symptoms
        return row.rng.choices(choices, weights=[weights[k] for k in choices])[0], symptoms

    def hand_back(self, kp: KeyPerson, event: _Event) -> None:
        staff = self.staff.get(kp.community_id or 0)
        if staff is None:
            return
        assert event.row is not None
        r = event.row.rng
        others = [c for c in self.communities if c.pk != kp.community_id]
        reason = r.choice(HAND_BACK_REASONS)
        target = r.choice(others) if "{community}" in reason and others else None
        item_id = kp.work_item_id
        back = actions.do_hand_back_key_person(
            actor=staff, kp=kp, reason=reason.format(community=target.name if target else "")
        )
        self.out.hand_backs += 1
        HandBack.objects.filter(pk=back.pk).update(created_at=event.when, updated_at=event.when)
        if item_id:
            WorkItem.objects.filter(pk=item_id).update(done_at=event.when)
        if target is not None and r.random() < 0.6:
            later = event.when + dt.timedelta(minutes=r.randint(30, 240))
            self.push(later, "route", kp_id=kp.pk, round=kp.round, row=event.row, target=target.pk)

    def route(self, kp: KeyPerson, event: _Event) -> None:
        """The command centre sends a handed-back person to the community named in the reason, whose
        staff verify them when they get to it."""
        assert event.row is not None
        community = next(c for c in self.communities if c.pk == event.target)
        actions.do_route_key_person(actor=self.command, kp=kp, community=community)
        if event.row.rng.random() < 0.6:
            later = self._work_time(event.when, event.row.rng)
            self.push(later, "verify", kp_id=kp.pk, round=kp.round, row=event.row)


def build_screening(state: BuildState) -> None:
    """Receive, verify and hand back a week of pushed lists (see the module docstring)."""
    started = time.perf_counter()
    last_person = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    now = timezone.now()
    week = _Week(state, now)
    replay = _Replay(state, week)
    # The register's objects are alive till the end of the build, not garbage: keep the collector
    # from walking them again on every collection of the actions' many short-lived objects (measured:
    # 10–30 % of this stage's time at the default scale).
    gc.freeze()
    try:
        replay.run()
    finally:
        gc.unfreeze()
    # New persons join the digest, in creation order, as person_digest() reads them.
    for name, id_type, number, phone in (
        Person.objects.filter(pk__gt=last_person)
        .order_by("pk")
        .values_list("name", "id_type", "id_number", "phone")
    ):
        state.digest.update(f"{name}\t{id_type}\t{number}\t{phone}\n".encode())
    statuses = {
        row["status"]: row["n"]
        for row in KeyPerson.objects.order_by().values("status").annotate(n=Count("pk"))
    }
    counts = {
        "pushed_lists": PushedList.objects.filter(committed=True).count(),
        "pushed_entries": PushedEntry.objects.count(),
        "key_persons": sum(statuses.values()),
        "key_persons_to_verify": statuses.get(KeyPersonStatus.TO_VERIFY, 0),
        "key_persons_dispatch": statuses.get(KeyPersonStatus.DISPATCH, 0),
        "key_persons_verified": sum(statuses.get(s, 0) for s in VERIFIED_STATUSES),
        "new_persons_from_lists": Person.objects.filter(pk__gt=last_person).count(),
        "verifications": replay.out.verifications,
        "hand_backs": replay.out.hand_backs,
    }
    state.counts.update(counts)
    overdue = KeyPerson.objects.filter(status__in=OPEN_STATUSES, due_at__lt=now).count()
    audit.record(actor=None, action="demo.build_screening", changes=counts)
    state.say(
        "screening",
        f"{counts['pushed_lists']} pushed lists over {DAYS} days, {counts['pushed_entries']:,} entries, "
        f"{counts['key_persons']:,} key persons ({counts['key_persons_to_verify']:,} to verify, {overdue:,} overdue, "
        f"{counts['key_persons_dispatch']:,} in dispatch)",
        started,
    )
