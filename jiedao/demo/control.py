"""The control part of the Huayang demo: the verified key persons of the demo's week of lists whose
measure is still running are put under control through the control actions, and the days since are
replayed, so the case ledger, the transfer board, the doctor's list and the Today pages tell issue 4's
story.

- Cases: most verified key persons get a case (a few are left on the waiting list); home cases get their
  five-for-one team and start; a few stay pending. A few plans are laid out again from an earlier
  exposure day (`do_change_measure(start=...)`), so some cases are past their end date and still open.
- Quarantine sites (`do_save_site`): six hotels and training centres in Huayang and Shuangliu, one nearly
  full, one not taking people. Centralised-quarantine cases reach their site by closed-loop transfer
  (`do_plan_transfer`, then picked up, handed over and confirmed with `do_transfer_step`; the
  confirmation starts the case). Some transfers are still under way for the board, one of them late.
- Check-ins twice a day for every past check-in of every case under a measure (`do_record_checkin` with
  `at=`), by the person through their link or by the team; about 3 % with fever or symptoms, a few left
  empty and flagged as missed (`do_flag_missed_checkins`); the doctor has dealt with the older abnormal
  ones. Test results of the past test days (`do_record_test`): negative, one positive (escalated), two
  missing. Supply and counselling requests in every state, one urgent medicine.
- The day's jobs: cases move on to their follow-on measure, today's tests become work items, cases whose
  last day has come are released with a notice (some) or proposed for release.
- Actions stamp "now"; the stage moves those stamps (transfer steps, status changes, requests, the
  doctor's follow-ups) back to the simulated moment, as the screening stage does; the audit log keeps
  the real times. Deterministic for a seed and a build time (what is "past" depends on the hour).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from itertools import cycle
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from jiedao.control import checkins as checkin_rules
from jiedao.control.actions import (
    do_advance_cases,
    do_assign_supply,
    do_change_measure,
    do_create_test_items,
    do_deliver_supply,
    do_flag_missed_checkins,
    do_hold_supply,
    do_issue_checkin_link,
    do_open_case,
    do_plan_transfer,
    do_propose_releases,
    do_record_checkin,
    do_record_test,
    do_release_case,
    do_request_supply,
    do_save_site,
    do_set_care_team,
    do_start_case,
    do_transfer_step,
    is_late,
    release_blockers,
    test_days,
)
from jiedao.control.choices import (
    OPEN_STATUSES,
    OPEN_TRANSFER_STATUSES,
    CaseStatus,
    SiteStatus,
    SupplyKind,
    SupplyStatus,
    TestResult,
    TransferStatus,
)
from jiedao.control.models import (
    CaseChange,
    CaseTest,
    ControlCase,
    HealthCheck,
    QuarantineSite,
    SupplyRequest,
    Transfer,
)
from jiedao.control.queries import waiting_for_a_case
from jiedao.control.teams import candidates, missing, needs_team, slots
from jiedao.core import audit
from jiedao.demo.state import BuildState
from jiedao.org.choices import Role, UnitLevel
from jiedao.org.models import RoleAssignment, User
from jiedao.protocols.choices import MeasureType
from jiedao.work.actions import do_complete_work_item
from jiedao.work.choices import OPEN_STATUSES as OPEN_WORK
from jiedao.work.models import WorkItem

# Left for the office to open by hand, so the waiting list is not empty in the demo.
LEAVE_WAITING = 0.08
STAY_PENDING = 0.12
BASIS = {
    "HOME_QUARANTINE": "五包一到位，已落实居家隔离",
    "TWO_IN_THREE": "已告知三天两检要求",
}
RELEASE_BASIS = "管控期满，末次核酸检测阴性，无发热等症状，予以解除"
SHIFT_BASIS = "流调复核：末次暴露日期提前，按实际暴露日重排管控方案"

# (name, address, phone, capacity; None = nearly full: sized to who is sent there, status)
SITES: list[tuple[str, str, str, int | None, str]] = [
    ("华阳锦悦酒店集中隔离点", "四川省成都市天府新区华阳街道华府大道一段118号", "028-85621140", 120, SiteStatus.OPEN),
    ("华阳滨江公寓隔离点", "四川省成都市天府新区华阳街道滨江路二段31号", "028-85637722", None, SiteStatus.OPEN),
    ("双流棠湖宾馆集中隔离点", "四川省成都市双流区东升街道棠湖西路二段9号", "028-85802316", 200, SiteStatus.OPEN),
    ("西航港空港商务酒店隔离点", "四川省成都市双流区西航港街道空港一路一段300号", "028-85750618", 150, SiteStatus.OPEN),
    ("华阳正西街健康驿站", "四川省成都市天府新区华阳街道正西街56号", "028-85669031", 60, SiteStatus.OPEN),
    ("广都大道培训中心隔离点", "四川省成都市天府新区华阳街道广都大道二段166号", "028-85618855", 80, SiteStatus.CLOSED),
]  # fmt: skip
NEARLY_FULL = 1  # the index in SITES of the site sized to leave one room free
SHARES = [0.4, 0.0, 0.2, 0.2, 0.2, 0.0]  # how the others are chosen (none to the closed one)
SITE_STAFF = ["刘敏", "陈静", "王丽娟", "张晓燕", "李海波", "杨帆"]
LABS = ["华阳社区卫生服务中心", "天府新区人民医院检验科", "成都金域医学检验所"]
# What stays open of the transfers of pending cases, in turn: (step reached, minutes since it; for a
# planned one, since the planned pick-up time — negative: still to come).
OPEN_TRANSFERS: list[tuple[str, int]] = [
    (TransferStatus.PLANNED, 120),  # pick-up planned 2 h ago, nobody picked up yet: late
    (TransferStatus.PICKED_UP, 35),
    (TransferStatus.HANDED_OVER, 10),
    (TransferStatus.PLANNED, -45),  # pick-up in 45 minutes
    ("", 0),  # no transfer planned yet
    (TransferStatus.HANDED_OVER, 50),  # the site has not confirmed for 50 min: late
    (TransferStatus.PICKED_UP, 150),  # on the road for 2.5 h: late
    (TransferStatus.PLANNED, -90),
    ("", 0),
]
ABNORMAL = 0.03
MISSED = 0.04
SELF_REPORT = 0.8  # of the check-ins of home cases with a personal link
PAST_END = 3  # cases laid out again to end 1, 2 and 3 days ago, still open
RELEASE_SHARE = 0.6  # of the cases free to go today
# (kind, detail, urgent, asked by the person through their link, what happens: "" = left as it is,
# "site" = at a quarantine site (no care team: it waits for the office), "assign" = the same, assigned,
# "release" = asked by someone released today: closed with the case)
SUPPLIES: list[tuple[str, str, bool, bool, str]] = [
    (SupplyKind.MEDICINE, "胰岛素只剩一天的量，需尽快配送（诺和锐笔芯）", True, True, ""),
    (SupplyKind.FOOD, "米、面条和一周的蔬菜，家里有两位老人", False, True, "deliver"),
    (SupplyKind.FOOD, "牛奶和婴儿纸尿裤（XL码）", False, False, ""),
    (SupplyKind.MEDICINE, "降压药（硝苯地平控释片）快吃完了", False, False, "hold"),
    (SupplyKind.COUNSELLING, "隔离第五天情绪低落、失眠，希望有人聊聊", False, True, "deliver"),
    (SupplyKind.OTHER, "家里燃气卡没气了，需代为充值", False, False, "deliver"),
    (SupplyKind.FOOD, "饮用水两桶、方便面", False, False, "assign"),
    (SupplyKind.OTHER, "需要手机充电器（Type-C）和换洗衣物，家属可送到隔离点", False, False, "site"),
    (SupplyKind.COUNSELLING, "孩子居家网课焦虑，家长请求心理疏导", False, False, ""),
    (SupplyKind.FOOD, "水果和鸡蛋", False, True, "release"),
    (SupplyKind.OTHER, "快递代收：网购的药品放在小区门口快递柜", False, False, "hold"),
]
HOLD_REASONS = {
    SupplyKind.MEDICINE: "社区卫生服务中心暂缺该药，已联系药店明早补货后送达",
    SupplyKind.OTHER: "快递柜在封控区外，待明日统一转运后送上门",
}
DELIVERED = {
    SupplyKind.FOOD: "已送达，放门口后电话告知本人取件",
    SupplyKind.COUNSELLING: "已电话心理疏导40分钟，情绪平稳，约定两天后回访",
    SupplyKind.OTHER: "已代为充值燃气费100元，收据拍照发给本人",
}
FOLLOW_UP = "已电话随访并复测体温，告知多饮水、继续监测，如有加重立即报告"


@dataclass
class _Started:
    case: ControlCase
    began: dt.datetime  # when the measure began (the site's confirmation, or the start at home)
    linked: bool = False  # has a personal check-in link


class _Crew:
    """Who does what where: the first active holder of each role per community (and grid workers per
    grid), read in one query."""

    def __init__(self) -> None:
        self.by_community: dict[tuple[int, str], User] = {}
        self.by_grid: dict[int, User] = {}
        for a in (
            RoleAssignment.objects.filter(active=True, level__in=(UnitLevel.COMMUNITY, UnitLevel.GRID))
            .select_related("user")
            .order_by("user__username")
        ):
            if a.level == UnitLevel.GRID and a.role == Role.GRID_WORKER and a.grid_id:
                self.by_grid.setdefault(a.grid_id, a.user)
            elif a.level == UnitLevel.COMMUNITY and a.community_id:
                self.by_community.setdefault((a.community_id, a.role), a.user)
        self.command = User.objects.get(username="command")

    def of(self, case: Any, role: str) -> User:
        if role == Role.GRID_WORKER and case.grid_id in self.by_grid:
            return self.by_grid[case.grid_id]
        return self.by_community.get((case.community_id, role)) or self.command


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


class _Story:
    def __init__(self, state: BuildState) -> None:
        self.state = state
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.rng = state.rng("control-care")
        self.crew = _Crew()
        self.started: list[_Started] = []
        self.pending_central: list[ControlCase] = []
        self.counts: Counter[str] = Counter()
        self.plates: set[str] = set()
        self.to_release: set[int] = set()  # cases with a request that closes with their release

    # ---- cases -----------------------------------------------------------------------------------

    def open_cases(self) -> list[tuple[ControlCase, bool]]:
        """Open a case for most of the waiting key persons (the stream and choices of the first demo,
        so the same people are under control); True = it starts."""
        rng = random.Random(self.state.seed * 7 + 4)
        command = self.crew.command
        opened = []
        for kp in list(waiting_for_a_case(command).order_by("verified_at", "pk")):
            if rng.random() < LEAVE_WAITING:
                continue
            case = do_open_case(actor=command, key_person=kp)
            if needs_team(case):
                team = {slot: candidates(case, slot).first() for slot in slots()}
                do_set_care_team(actor=command, case=case, members=team)
                if missing(case):
                    continue  # an area without, say, a police liaison: the case waits for its team
            starts = rng.random() >= STAY_PENDING and case.start_date <= self.today
            opened.append((case, starts))
        return opened

    def lay_out_earlier(self, opened: list[tuple[ControlCase, bool]]) -> None:
        """A few home cases ending today or tomorrow turn out to have been exposed earlier: laid out
        again, they end 1, 2 and 3 days ago and are still open (red on the ledger)."""
        near = [
            c
            for c, starts in opened
            if starts
            and c.measure_type == MeasureType.HOME_QUARANTINE
            and self.today <= c.end_date <= self.today + dt.timedelta(days=1)
        ]
        for k, case in enumerate(self.rng.sample(near, min(PAST_END, len(near))), start=1):
            shift = (case.end_date - self.today).days + k
            do_change_measure(
                actor=self.crew.of(case, Role.COMMUNITY_STAFF), case=case, category=case.category,
                basis=SHIFT_BASIS, start=case.start_date - dt.timedelta(days=shift),
            )  # fmt: skip
            self.counts["shifted"] += 1

    def start_cases(self, opened: list[tuple[ControlCase, bool]]) -> None:
        central = [c for c, s in opened if c.measure_type == MeasureType.CENTRAL_QUARANTINE]
        pending = [c for c, s in opened if not s and c.measure_type == MeasureType.CENTRAL_QUARANTINE]
        starting = [c for c in central if c not in pending]
        if not pending and starting:  # the board always has a transfer under way
            pending.append(starting.pop(max(range(len(starting)), key=lambda i: starting[i].start_date)))
        self.pending_central = pending
        # The nearly full site takes people who stay there (still in their first measure today) and
        # some of those on their way, and has one room left.
        staying = [
            c
            for c in starting
            if self.today <= dt.date.fromisoformat(c.phases[0]["end"]) and c.end_date > self.today
        ]
        to_full = set(self.rng.sample(staying, round(len(staying) * 0.4)))
        on_way = [c for c, (step, _m) in zip(pending, cycle(OPEN_TRANSFERS), strict=False) if step]
        to_full |= set(self.rng.sample(on_way, round(len(on_way) * 0.4)))
        # where the others go is drawn first, so that at a large scale a site is made big enough
        others = [c for c in [*starting, *on_way] if c not in to_full]
        drawn = dict(
            zip(others, self.rng.choices(range(len(SITES)), weights=SHARES, k=len(others)), strict=True)
        )
        sites = self._sites(len(to_full), Counter(drawn.values()))
        for case in starting:
            self._transfer_in(case, sites[NEARLY_FULL] if case in to_full else sites[drawn[case]])
        for case, (step, minutes) in zip(pending, cycle(OPEN_TRANSFERS), strict=False):
            if step:
                self._open_transfer(
                    case, sites[NEARLY_FULL] if case in to_full else sites[drawn[case]], step, minutes
                )
        for case, starts in opened:
            if starts and case.measure_type != MeasureType.CENTRAL_QUARANTINE:
                began = self._began(case)
                do_start_case(
                    actor=self.crew.of(case, Role.COMMUNITY_STAFF), case=case,
                    basis=BASIS.get(case.measure_type, "已落实管控措施"),
                )  # fmt: skip
                CaseChange.objects.filter(case=case, to_status=CaseStatus.ACTIVE).update(
                    created_at=began, updated_at=began
                )
                self.started.append(_Started(case, began))
        self.started.sort(key=lambda s: s.case.pk)

    def _began(self, case: ControlCase) -> dt.datetime:
        """The moment the measure began: on its first day, or soon after the verification if that came
        later; never after now."""
        verified = case.key_person.verified_at or self.now
        began = max(
            _at(case.start_date, self.rng.randint(9, 15), self.rng.randint(0, 59)),
            verified + dt.timedelta(minutes=self.rng.randint(40, 150)),
        )
        return min(began, self.now - dt.timedelta(minutes=self.rng.randint(20, 60)))

    # ---- sites and transfers ---------------------------------------------------------------------

    def _sites(self, nearly_full: int, sent: Counter[int]) -> list[QuarantineSite]:
        """The sites; the nearly full one is sized to leave one room free after the people it will
        hold and expects, and a site sent more people than its listed rooms (a large demo) is given a
        quarter more rooms than it is sent."""
        return [
            do_save_site(
                actor=self.crew.command,
                name=name,
                address=address,
                phone=phone,
                capacity=nearly_full + 1 if capacity is None else max(capacity, math.ceil(sent[i] * 1.25)),
                status=status,
            )
            for i, (name, address, phone, capacity, status) in enumerate(SITES)
        ]

    def _plate(self) -> str:
        while True:
            plate = "川A" + "".join(self.rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(5))
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def _plan(self, case: ControlCase, site: QuarantineSite, pickup: dt.datetime) -> Transfer:
        n = self.rng.randint(1, 6)
        return do_plan_transfer(
            actor=self.crew.of(case, Role.COMMUNITY_STAFF), case=case, site=site, pickup_at=pickup,
            team=f"华阳转运专班第{n}组（民警1名、医护1名、驾驶员1名）", vehicle=self._plate(),
        )  # fmt: skip

    def _transfer_in(self, case: ControlCase, site: QuarantineSite) -> None:
        """Picked up, handed over and confirmed: the case starts at the site."""
        police = self.crew.of(case, Role.POLICE)
        began = self._began(case)  # the site's confirmation
        handed = began - dt.timedelta(minutes=self.rng.randint(5, 20))
        picked = handed - dt.timedelta(minutes=self.rng.randint(30, 70))
        pickup = picked - dt.timedelta(minutes=self.rng.randint(-10, 25))
        transfer = self._plan(case, site, pickup)
        do_transfer_step(actor=police, transfer=transfer, step=TransferStatus.PICKED_UP)
        do_transfer_step(actor=police, transfer=transfer, step=TransferStatus.HANDED_OVER,
                         received_by=f"{site.name}医护 {self.rng.choice(SITE_STAFF)}")  # fmt: skip
        do_transfer_step(actor=self.crew.of(case, Role.COMMUNITY_STAFF), transfer=transfer,
                         step=TransferStatus.CONFIRMED, note="已入住，房间号已登记")  # fmt: skip
        Transfer.objects.filter(pk=transfer.pk).update(
            picked_up_at=picked, handed_over_at=handed, confirmed_at=began, updated_at=began
        )
        CaseChange.objects.filter(case=case, to_status=CaseStatus.ACTIVE).update(
            created_at=began, updated_at=began
        )
        case.refresh_from_db(fields=["status", "site"])
        self.started.append(_Started(case, began))

    def _open_transfer(self, case: ControlCase, site: QuarantineSite, step: str, minutes: int) -> None:
        """A transfer still under way: planned (late or not), picked up or handed over `minutes` ago."""
        police = self.crew.of(case, Role.POLICE)
        if step == TransferStatus.PLANNED:
            self._plan(case, site, self.now - dt.timedelta(minutes=minutes))
            return
        at = self.now - dt.timedelta(minutes=minutes)
        picked = (
            at if step == TransferStatus.PICKED_UP else at - dt.timedelta(minutes=self.rng.randint(35, 60))
        )
        transfer = self._plan(case, site, picked - dt.timedelta(minutes=self.rng.randint(0, 15)))
        do_transfer_step(actor=police, transfer=transfer, step=TransferStatus.PICKED_UP)
        stamps: dict[str, Any] = {"picked_up_at": picked, "updated_at": at}
        if step == TransferStatus.HANDED_OVER:
            do_transfer_step(actor=police, transfer=transfer, step=TransferStatus.HANDED_OVER,
                             received_by=f"{site.name}医护 {self.rng.choice(SITE_STAFF)}")  # fmt: skip
            stamps["handed_over_at"] = at
        Transfer.objects.filter(pk=transfer.pk).update(**stamps)

    # ---- the days since --------------------------------------------------------------------------

    def links(self) -> None:
        """Most people at home get a personal check-in link."""
        for s in self.started:
            if needs_team(s.case) and self.rng.random() < 0.75:
                do_issue_checkin_link(actor=self.crew.of(s.case, Role.COMMUNITY_STAFF), case=s.case)
                s.linked = True

    def checkins(self, positive: ControlCase | None, positive_day: dt.date | None) -> None:
        """Every past check-in of every case under a measure, except the missed ones. At least two
        recent ones are missed and one recent one shows a fever, whatever the dice say, so the doctor's
        list is never empty."""
        since = _at(self.today - dt.timedelta(days=1), 0)
        recent = [
            (s.case.pk, slot)
            for s in self.started
            if positive is None or s.case.pk != positive.pk
            for slot in checkin_rules.slots(s.case)
            if since <= slot <= self.now - checkin_rules.MISSED_AFTER
        ]
        picked = self.rng.sample(recent, min(3, len(recent)))
        missed, fever = set(picked[:2]), set(picked[2:])
        for s in self.started:
            case = s.case
            for slot in checkin_rules.slots(case):
                if slot > self.now:
                    break
                if self.now - slot < checkin_rules.MISSED_AFTER and self.rng.random() < 0.4:
                    continue  # not in yet, and not late yet
                if self.rng.random() < MISSED or (case.pk, slot) in missed:
                    continue  # missed: flagged below when it is recent
                at = min(slot + dt.timedelta(minutes=self.rng.randint(0, 90)), self.now)
                sick = (
                    positive is not None
                    and positive_day is not None
                    and case.pk == positive.pk
                    and slot.date() >= positive_day
                )
                temperature, symptoms = self._reading(sick or (case.pk, slot) in fever)
                by_self = s.linked and at >= s.began and self.rng.random() < SELF_REPORT
                actor = None if by_self else self.crew.of(case, self._recorder(case))
                check = do_record_checkin(
                    actor=actor, case=case, temperature=temperature, symptoms=symptoms, at=at, by_self=by_self
                )
                self.counts["checkins"] += 1
                if check.abnormal and self.now - slot > dt.timedelta(hours=24) and not sick:
                    self._followed_up(case, slot)

    def _recorder(self, case: ControlCase) -> str:
        if case.measure_type == MeasureType.CENTRAL_QUARANTINE:
            return Role.DOCTOR
        return Role.GRID_WORKER if self.rng.random() < 0.6 else Role.DOCTOR

    def _reading(self, sick: bool) -> tuple[str, list[str]]:
        if sick:
            return f"{self.rng.uniform(37.6, 38.6):.1f}", ["cough", "sore_throat"]
        if self.rng.random() < ABNORMAL:
            if self.rng.random() < 0.6:
                return f"{self.rng.uniform(37.3, 38.4):.1f}", []
            return f"{self.rng.uniform(36.3, 37.1):.1f}", [
                self.rng.choice(["cough", "sore_throat", "fatigue"])
            ]
        return f"{self.rng.uniform(36.0, 37.1):.1f}", []

    def _followed_up(self, case: ControlCase, slot: dt.datetime) -> None:
        """The doctor called back about an abnormal check-in of more than a day ago."""
        item = WorkItem.objects.filter(
            dedupe_key=f"control.abnormal_checkin:{case.pk}:{slot.isoformat()}", status__in=OPEN_WORK
        ).first()
        if item is None:
            return
        do_complete_work_item(actor=self.crew.of(case, Role.DOCTOR), item=item, outcome=FOLLOW_UP)
        done = slot + dt.timedelta(minutes=self.rng.randint(60, 180))
        WorkItem.objects.filter(pk=item.pk).update(done_at=done, updated_at=done)

    def pick_positive(self) -> tuple[ControlCase | None, dt.date | None]:
        """A person at a site, a few days in, whose latest test is positive (and who runs a fever)."""
        yesterday = self.today - dt.timedelta(days=1)
        options = [
            (s.case, max(d for d in test_days(s.case) if d <= yesterday))
            for s in self.started
            if s.case.measure_type == MeasureType.CENTRAL_QUARANTINE
            and s.case.start_date <= yesterday - dt.timedelta(days=1)
            and any(d <= yesterday and d > s.case.start_date for d in test_days(s.case))
        ]
        if not options:
            return None, None
        return self.rng.choice(options)

    def tests(self, positive: ControlCase | None, positive_day: dt.date | None) -> None:
        """Each day's tests became work items; the results came in, but for two."""
        first = min((s.case.start_date for s in self.started), default=self.today)
        day = first
        while day <= self.today:
            do_create_test_items(today=day)
            day += dt.timedelta(days=1)
        due = [
            (s.case, d)
            for s in self.started
            for d in test_days(s.case)
            if d < self.today
            or (d == self.today and self.now.astimezone(timezone.get_current_timezone()).hour >= 16)
        ]
        # Two results missing: the last test of one of the cases past their end date (so its release
        # waits for it), and an earlier one.
        # (never the positive case's: it goes to hospital care, and its open items are cancelled)
        past_end = [(c, d) for c, d in due if c.end_date < self.today and d == test_days(c)[-1]
                    and (positive is None or c.pk != positive.pk)]  # fmt: skip
        skip = set(self.rng.sample(past_end, 1)) if past_end else set()
        # (a case still under control after today: one that ends today is released, cancelling its items)
        earlier = [(c, d) for c, d in due if d < c.end_date and d < self.today - dt.timedelta(days=1)
                   and c.end_date > self.today and (positive is None or c.pk != positive.pk)]  # fmt: skip
        skip |= set(self.rng.sample(earlier, min(2 - len(skip), len(earlier))))
        for case, day in due:
            if (case, day) in skip:
                continue
            result = (
                TestResult.POSITIVE
                if positive is not None and (case.pk, day) == (positive.pk, positive_day)
                else TestResult.NEGATIVE
            )
            if positive is not None and case.pk == positive.pk and positive_day and day > positive_day:
                continue  # after the positive, the person is at the hospital's care, not tested here
            sampled = _at(day, self.rng.randint(7, 10), self.rng.randint(0, 59))
            do_record_test(
                actor=self.crew.of(case, Role.DOCTOR), case=case, test_date=day, result=result,
                sampled_at=min(sampled, self.now), lab=self.rng.choice(LABS), today=self.today,
            )  # fmt: skip
        self.counts["tests_missing"] = len(skip)

    def supplies(self) -> None:
        """Requests in every state: waiting, assigned, delivered, held, closed with the case, and one
        urgent medicine."""
        home = [s for s in self.started if needs_team(s.case) and s.case.end_date > self.today]
        pools = {
            "home": self.rng.sample(home, len(home)),
            "site": [s for s in self.started if s.case.measure_type == MeasureType.CENTRAL_QUARANTINE][::-1],
            "release": [
                s
                for s in self.started
                if s.case.end_date == self.today and not release_blockers(s.case, self.today)
            ],
        }
        for kind, detail, urgent, by_self, then in SUPPLIES:
            pool = pools["site" if then in ("site", "assign") else "release" if then == "release" else "home"]
            if not pool:
                continue
            s = pool.pop()
            case = s.case
            if then == "release":
                self.to_release.add(case.pk)
            by_self = by_self and s.linked
            actor = None if by_self else self.crew.of(case, Role.GRID_WORKER)
            req = do_request_supply(
                actor=actor, case=case, kind=kind, detail=detail, urgent=urgent, by_self=by_self
            )
            asked = self.now - dt.timedelta(minutes=8 if urgent else self.rng.randint(20, 300))
            SupplyRequest.objects.filter(pk=req.pk).update(created_at=asked, updated_at=asked)
            staff = self.crew.of(case, Role.COMMUNITY_STAFF)
            if then == "assign" or (then == "deliver" and req.assignee is None):
                req = do_assign_supply(actor=staff, req=req, assignee=self.crew.of(case, Role.VOLUNTEER))
            if then == "deliver":
                do_deliver_supply(actor=req.assignee, req=req, outcome=DELIVERED[SupplyKind(kind)])
            elif then == "hold":
                do_hold_supply(actor=req.assignee or staff, req=req, reason=HOLD_REASONS[SupplyKind(kind)])

    def release(self) -> None:
        """Some of the people whose measure ends today go home with their notice; the rest, and the
        cases past their end date, wait on the office."""
        for s in self.started:
            case = s.case
            if case.end_date != self.today:
                continue
            case.refresh_from_db(fields=["status"])
            chosen = self.rng.random() < RELEASE_SHARE or case.pk in self.to_release
            if not chosen or release_blockers(case, self.today):
                continue
            do_release_case(actor=self.crew.of(case, Role.COMMUNITY_STAFF), case=case, basis=RELEASE_BASIS,
                            today=self.today)  # fmt: skip

    def late_checkin(self) -> None:
        """One missed check-in came in late after the doctor's call."""
        missed = (
            HealthCheck.objects.filter(missed=True, temperature__isnull=True, case__status__in=OPEN_STATUSES)
            .select_related("case")
            .order_by("slot_at", "pk")
            .first()
        )
        if missed is None:
            return
        at = min(missed.slot_at + dt.timedelta(hours=3, minutes=10), self.now)
        do_record_checkin(actor=self.crew.of(missed.case, Role.DOCTOR), case=missed.case, temperature="36.6",
                          at=at, note="电话联系后补报")  # fmt: skip


def build_control(state: BuildState) -> None:
    started = time.perf_counter()
    story = _Story(state)
    opened = story.open_cases()
    story.lay_out_earlier(opened)
    story.start_cases(opened)
    do_advance_cases(story.today)
    for s in story.started:
        s.case.refresh_from_db(fields=["status"])
    story.links()
    positive, positive_day = story.pick_positive()
    story.checkins(positive, positive_day)
    story.tests(positive, positive_day)
    story.supplies()
    story.release()
    do_flag_missed_checkins(story.now)
    story.late_checkin()
    do_propose_releases(story.today)
    counts = _counts(story)
    state.counts.update(counts)
    audit.record(actor=None, action="demo.build_control", changes=counts)
    state.say(
        "control",
        f"{counts['control_cases']:,} control cases, {counts['control_sites']} quarantine sites, "
        f"{counts['control_transfers']} transfers, {counts['control_checkins']:,} check-ins, "
        f"{counts['control_tests']:,} test results, {counts['control_supplies']} requests",
        started,
    )


def _counts(story: _Story) -> dict[str, int]:
    command = story.crew.command
    statuses = dict(
        ControlCase.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    transfers = list(Transfer.objects.filter(status__in=OPEN_TRANSFER_STATUSES))
    checks = HealthCheck.objects.aggregate(
        n=Count("pk", filter=Q(temperature__isnull=False)),
        abnormal=Count("pk", filter=Q(abnormal=True)),
        missed=Count("pk", filter=Q(missed=True)),
        by_self=Count("pk", filter=Q(by_self=True)),
    )
    tests = dict(CaseTest.objects.values_list("result").annotate(n=Count("pk")).values_list("result", "n"))
    supplies = dict(
        SupplyRequest.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {
        "control_cases": sum(statuses.values()),
        "control_active": statuses.get(CaseStatus.ACTIVE, 0),
        "control_monitoring": statuses.get(CaseStatus.MONITORING, 0),
        "control_pending": statuses.get(CaseStatus.PENDING, 0),
        "control_released": statuses.get(CaseStatus.RELEASED, 0),
        "control_past_end": ControlCase.objects.filter(
            status__in=OPEN_STATUSES, end_date__lt=story.today
        ).count(),
        "control_waiting": waiting_for_a_case(command).count(),
        "control_sites": QuarantineSite.objects.count(),
        "control_transfers": Transfer.objects.count(),
        "control_transfers_open": len(transfers),
        "control_transfers_late": sum(is_late(t, story.now) for t in transfers),
        "control_checkins": checks["n"],
        "control_checkins_by_self": checks["by_self"],
        "control_checkins_abnormal": checks["abnormal"],
        "control_checkins_missed": checks["missed"],
        "control_tests": sum(tests.values()),
        "control_tests_positive": tests.get(TestResult.POSITIVE, 0),
        "control_tests_missing": story.counts["tests_missing"],
        "control_supplies": sum(supplies.values()),
        "control_supplies_open": sum(
            supplies.get(s, 0) for s in (SupplyStatus.OPEN, SupplyStatus.ASSIGNED, SupplyStatus.HELD)
        ),
        "control_release_proposed": WorkItem.objects.filter(
            kind="control.release", status__in=OPEN_WORK
        ).count(),
    }


def summary_lines(counts: dict[str, Any]) -> list[str]:
    """What the control stage built, for the progress line and the printed summary."""
    if not counts.get("control_cases"):
        return []
    return [
        f"Control: {counts['control_cases']:,} cases ({counts.get('control_active', 0):,} under the measure, "
        f"{counts.get('control_monitoring', 0):,} under the follow-on, {counts.get('control_pending', 0):,} pending, "
        f"{counts.get('control_released', 0):,} released, {counts.get('control_past_end', 0):,} past their end date), "
        f"{counts.get('control_waiting', 0):,} waiting for a case, {counts.get('control_release_proposed', 0):,} "
        "proposed for release",
        f"  {counts.get('control_sites', 0)} quarantine sites, {counts.get('control_transfers', 0):,} transfers "
        f"({counts.get('control_transfers_open', 0)} under way, {counts.get('control_transfers_late', 0)} late)",
        f"  {counts.get('control_checkins', 0):,} check-ins ({counts.get('control_checkins_by_self', 0):,} self-reported, "
        f"{counts.get('control_checkins_abnormal', 0)} with fever or symptoms, {counts.get('control_checkins_missed', 0)} "
        f"missed), {counts.get('control_tests', 0):,} test results ({counts.get('control_tests_positive', 0)} positive, "
        f"{counts.get('control_tests_missing', 0)} missing), {counts.get('control_supplies', 0)} supply and counselling "
        f"requests ({counts.get('control_supplies_open', 0)} open)",
    ]
