"""The demo's staff and work stages: a login for every role (command and auditor for the subdistrict,
staff for every community, a worker for every grid, the other roles in Binjiang — or Longhe for the
enterprise liaison), all with the one demo password, and a day of work for the Nanhu grid's worker."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.contrib.auth.hashers import make_password
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from jiedao.core import audit
from jiedao.demo import data
from jiedao.demo.people import PeopleFactory
from jiedao.demo.state import BuildState
from jiedao.org.choices import Role, UnitLevel
from jiedao.org.models import RoleAssignment, User
from jiedao.work.choices import Priority, WorkStatus
from jiedao.work.models import WorkItem

# (username, role, level, community, grid, label of the unit)
Account = tuple[str, str, str, Any, Any, str]
_COMMUNITY_ROLES = (Role.DOCTOR, Role.POLICE, Role.INSPECTOR, Role.PHARMACY_CLERK)
_GRID_ROLES = (Role.VOLUNTEER, Role.SAMPLER)


def planned_usernames() -> set[str]:
    """Every username the staff stage will create (checked against the database before building)."""
    names = {"command", "auditor", f"enterprise_liaison_{data.LIAISON_COMMUNITY}"}
    names |= {f"{role.value}_{data.DEMO_COMMUNITY}" for role in (*_COMMUNITY_ROLES, *_GRID_ROLES)}
    for spec in data.COMMUNITIES:
        columns, rows = spec.grid_layout
        names.add(f"{spec.slug}_staff")
        names |= {f"grid_{spec.slug}_{n}" for n in range(1, columns * rows + 1)}
        names |= {username for username, _role in _care_accounts(spec.slug)}
    return names


def _accounts(state: BuildState) -> list[Account]:
    assert state.demo_grid is not None
    names = {s.slug: s.name for s in data.COMMUNITIES}
    communities = {u.spec.slug: u.community for u in state.units}
    demo = data.DEMO_COMMUNITY
    grid_label = f"{state.demo_grid.spec.name}{state.demo_grid.grid.name}"
    accounts: list[Account] = [
        ("command", Role.COMMAND, UnitLevel.SUBDISTRICT, None, None, data.SUBDISTRICT_NAME)
    ]
    for spec in data.COMMUNITIES:
        accounts.append(
            (
                f"{spec.slug}_staff",
                Role.COMMUNITY_STAFF,
                UnitLevel.COMMUNITY,
                communities[spec.slug],
                None,
                spec.name,
            )
        )
    for unit in state.units:
        n = int(unit.grid.code.rsplit("-", 1)[1])
        label = f"{unit.spec.name}{unit.grid.name}"
        accounts.append(
            (f"grid_{unit.spec.slug}_{n}", Role.GRID_WORKER, UnitLevel.GRID, unit.community, unit.grid, label)
        )
    for role in _COMMUNITY_ROLES:
        accounts.append(
            (f"{role.value}_{demo}", role, UnitLevel.COMMUNITY, communities[demo], None, names[demo])
        )
    for role in _GRID_ROLES:
        accounts.append(
            (
                f"{role.value}_{demo}",
                role,
                UnitLevel.GRID,
                communities[demo],
                state.demo_grid.grid,
                grid_label,
            )
        )
    liaison = data.LIAISON_COMMUNITY
    accounts.append(
        (
            f"enterprise_liaison_{liaison}",
            Role.ENTERPRISE_LIAISON,
            UnitLevel.COMMUNITY,
            communities[liaison],
            None,
            names[liaison],
        )
    )
    accounts.append(("auditor", Role.AUDITOR, UnitLevel.SUBDISTRICT, None, None, data.SUBDISTRICT_NAME))
    # Every community's five-for-one care teams need a doctor, a police liaison and volunteers.
    for spec in data.COMMUNITIES:
        for username, role in _care_accounts(spec.slug):
            accounts.append((username, role, UnitLevel.COMMUNITY, communities[spec.slug], None, spec.name))
    return accounts


def _care_accounts(slug: str) -> list[tuple[str, Role]]:
    """The care-team accounts of a community beyond the demo roles (Binjiang has its doctor and police)."""
    out = [(f"volunteer_{slug}_team", Role.VOLUNTEER)]
    if slug != data.DEMO_COMMUNITY:
        out += [(f"doctor_{slug}", Role.DOCTOR), (f"police_{slug}", Role.POLICE)]
    return out


def build_staff(state: BuildState) -> None:
    started = time.perf_counter()
    people = PeopleFactory(state.rng("staff"), state.faker, state.ref)
    accounts = _accounts(state)
    # One hash for every demo account: PBKDF2 takes ~0.5 s a call, and they share one password anyway.
    password = make_password(data.DEMO_PASSWORD)
    users = User.objects.bulk_create(
        [
            User(
                username=username,
                display_name=people.name(people.rng.choice("MF")),
                work_phone=people.phone(),
                password=password,
            )
            for username, *_rest in accounts
        ]
    )
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(
                user=user,
                role=role,
                level=level,
                subdistrict=state.subdistrict if level == UnitLevel.SUBDISTRICT else None,
                community=community,
                grid=grid,
            )
            for user, (_username, role, level, community, grid, _label) in zip(users, accounts, strict=True)
        ]
    )
    # The printed login per role is the first account holding it, except community staff: Binjiang's,
    # where Nanhu Shangjing and the other demo roles are.
    firsts: dict[str, dict[str, str]] = {}
    for username, role, _level, _community, _grid, label in accounts:
        if role != Role.COMMUNITY_STAFF or username == f"{data.DEMO_COMMUNITY}_staff":
            firsts.setdefault(str(role), {"role": str(role), "username": username, "unit": label})
    state.logins = [firsts[r] for r in Role.values]
    by_name = {u.username: u for u in users}
    state.demo_worker = by_name[f"grid_{data.NANHU_COMMUNITY}_1"]
    state.counts["users"] = len(users)
    audit.record(actor=None, action="demo.build_staff", changes={"users": len(users), "logins": state.logins})
    state.say("staff", f"{len(users)} accounts, one password", started)


def _household_url(pk: int) -> str:
    # The household file page belongs to the registry app; link it when its URL is there.
    try:
        return reverse("registry:household", args=[pk])
    except NoReverseMatch:
        return ""


def build_work(state: BuildState) -> None:
    """Work items for the demo grid worker (due today, overdue, done today, tomorrow) and one for
    Binjiang's community staff, so that both Today pages have something to show."""
    started = time.perf_counter()
    assert state.demo_grid is not None and state.demo_worker is not None
    grid = state.demo_grid.grid
    now = timezone.now()
    local = timezone.localtime(now)
    evening = local.replace(hour=18, minute=0, second=0, microsecond=0)
    # Still due today (not yet overdue) even when the build runs late in the evening.
    due_today = min(
        local.replace(hour=23, minute=59, second=0, microsecond=0),
        max(local + dt.timedelta(hours=1), evening),
    )
    yesterday = evening - dt.timedelta(days=1)
    wanted = [
        # care tag of the visited household ("" = any), kind, title, due, status, priority, outcome
        ("elderly_alone", "registry.visit", "走访独居老人", due_today, WorkStatus.OPEN, Priority.HIGH, ""),
        ("", "registry.verify_household", "核实新入住户信息", due_today, WorkStatus.OPEN, Priority.NORMAL, ""),
        ("bedridden", "registry.visit", "为长期卧床人员安排上门服务", due_today, WorkStatus.IN_PROGRESS, Priority.HIGH, ""),
        ("pregnant", "registry.visit", "走访孕产妇家庭", yesterday, WorkStatus.OPEN, Priority.HIGH, ""),
        ("", "registry.update_household", "更新一户一档：联系电话变更", yesterday - dt.timedelta(days=1),
         WorkStatus.OPEN, Priority.NORMAL, ""),
        ("disabled", "registry.visit", "走访残疾人家庭", due_today, WorkStatus.DONE, Priority.NORMAL,
         "已上门走访，情况良好。"),
        ("", "registry.verify_household", "核实租住户信息", due_today, WorkStatus.DONE, Priority.NORMAL,
         "租户信息已核实并登记。"),
        ("infant", "registry.visit", "婴幼儿家庭随访", due_today + dt.timedelta(days=1), WorkStatus.OPEN,
         Priority.LOW, ""),
    ]  # fmt: skip
    items: list[WorkItem] = []
    used: set[int] = set()
    for n, (tag, kind, title, due, status, priority, outcome) in enumerate(wanted, start=1):
        candidates = state.demo_households.get(tag, []) + state.demo_households.get("", [])
        household = next((h for h in candidates if h.pk not in used), None)
        if household is None:
            continue
        used.add(household.pk)
        items.append(
            WorkItem(
                kind=kind,
                title=f"{title}：{household.address}",
                subject_type="registry.household",
                subject_id=str(household.pk),
                subject_url=_household_url(household.pk),
                community=state.demo_grid.community,
                grid=grid,
                assignee=state.demo_worker,
                role=Role.GRID_WORKER,
                due_at=due,
                status=status,
                priority=priority,
                outcome=outcome,
                # Done earlier today, spaced out (at most a few hours back, never before midnight).
                done_at=max(local.replace(hour=0, minute=5), now - dt.timedelta(minutes=40 * n))
                if status == WorkStatus.DONE
                else None,
                dedupe_key=f"demo:{n}",
            )
        )
    items.append(
        WorkItem(
            kind="registry.review_households",
            title="审核本周新增户档",
            community=state.demo_grid.community,
            role=Role.COMMUNITY_STAFF,
            due_at=due_today,
            priority=Priority.NORMAL,
            dedupe_key="demo:staff",
        )
    )
    WorkItem.objects.bulk_create(items)
    state.counts["work_items"] = len(items)
    audit.record(actor=None, action="demo.build_work", changes={"work_items": len(items)})
    state.say("work", f"{len(items)} work items for {state.demo_worker.username}", started)
