"""Key-industry groups (重点行业): workers tested every N days, all of them or a reproducible spot-check
draw of a share of them each period; who is due, who is overdue. Writes and reads in one place."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.control.queries import can, role_scope
from jiedao.core import audit
from jiedao.core.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from jiedao.core.models import stamp_user
from jiedao.core.scoping import scope_q
from jiedao.core.sheets import Column, ColumnSet, cell_text, mapped_rows
from jiedao.nat.choices import Industry
from jiedao.nat.models import KeyIndustryGroup, KeyIndustryMember, Sample
from jiedao.nat.queries import MANAGE_ROLES, can_manage_in
from jiedao.org.choices import Role
from jiedao.org.models import Community
from jiedao.registry.choices import IdType
from jiedao.registry.identity import normalize_document
from jiedao.registry.models import Person

READ_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.AUDITOR)
MAX_MEMBERS_PER_FILE = 20_000
EPOCH = dt.date(2020, 1, 1)  # periods count from here, so a group's periods are the same for everyone

MEMBER_COLUMNS = ColumnSet(
    [
        Column("name", "姓名", ("name",), required=True),
        Column("id_number", "身份证号", ("id_number", "公民身份号码", "证件号码"), required=True),
        Column("employer", "单位", ("employer", "工作单位", "所在单位")),
    ],
    no_header=gettext_lazy("No header row found: name the columns 姓名, 身份证号 and 单位."),
)


# ---- reads --------------------------------------------------------------------------------------------


def groups_visible_to(user: Any) -> QuerySet[KeyIndustryGroup]:
    """Subdistrict-wide groups (no community) for everyone who reads groups; a community's groups for
    its office."""
    if not can(user, READ_ROLES):
        return KeyIndustryGroup.objects.none()
    scope = role_scope(user, READ_ROLES)
    qs = KeyIndustryGroup.objects.all()
    if not scope.everything:
        qs = qs.filter(scope_q(scope) | scope_q_none())
    return qs.select_related("community").defer("community__geometry")


def scope_q_none() -> Any:
    from django.db.models import Q

    return Q(community__isnull=True)


def access_group(user: Any, pk: Any) -> KeyIndustryGroup:
    if not getattr(user, "is_authenticated", False):
        raise Unauthenticated(_("Please sign in."))
    try:
        return groups_visible_to(user).get(pk=pk)
    except (KeyIndustryGroup.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found."))


def can_edit_group(user: Any, group: KeyIndustryGroup | None) -> bool:
    return can_manage_in(user, group.community_id if group else None) if group else can(user, MANAGE_ROLES)


def period_of(group: KeyIndustryGroup, day: dt.date) -> tuple[int, dt.date, dt.date]:
    """The period number and its first and last day (periods of `frequency_days` from EPOCH)."""
    n = (day - EPOCH).days // group.frequency_days
    first = EPOCH + dt.timedelta(days=n * group.frequency_days)
    return n, first, first + dt.timedelta(days=group.frequency_days - 1)


def _draw_rank(group_id: int, period: int, person_id: int) -> str:
    return hashlib.sha256(f"{group_id}:{period}:{person_id}".encode()).hexdigest()


def drawn(group: KeyIndustryGroup, person_ids: list[int], period: int) -> set[int]:
    """The members drawn for a spot check in a period: the same for everyone who asks (a hash of the
    group, period and person), a different share each period, `ceil(n × percent)` of them."""
    if group.spot_check_percent >= 100:
        return set(person_ids)
    k = math.ceil(len(person_ids) * group.spot_check_percent / 100)
    return set(sorted(person_ids, key=lambda p: _draw_rank(group.pk, period, p))[:k])


@dataclass
class MemberRow:
    member: KeyIndustryMember
    last_sampled: dt.datetime | None
    due: bool  # to be tested this period (everyone at 100 %, the drawn share below)
    tested: bool  # due and tested: within `frequency_days` (100 %), or since the period began (spot check)
    overdue: (
        bool  # 100 %: no sample in the last `frequency_days`; spot check: drawn last period, not tested since
    )


def _rows(
    group: KeyIndustryGroup, members: list[KeyIndustryMember], last: dict[int, Any], now: dt.datetime
) -> list[MemberRow]:
    period, first, _last_day = period_of(group, timezone.localtime(now).date())
    ids = [m.person_id for m in members]
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    rows = []
    if group.spot_check_percent >= 100:
        since = now - dt.timedelta(days=group.frequency_days)
        for m in members:
            at = last.get(m.person_id)
            ok = at is not None and at >= since
            rows.append(MemberRow(m, at, True, ok, not ok))
        return rows
    now_drawn, before = drawn(group, ids, period), drawn(group, ids, period - 1)
    previous_start = start - dt.timedelta(days=group.frequency_days)
    for m in members:
        at = last.get(m.person_id)
        due = m.person_id in now_drawn
        missed = m.person_id in before and (at is None or at < previous_start)
        rows.append(MemberRow(m, at, due, due and at is not None and at >= start, missed))
    return rows


def member_rows_for(
    groups: list[KeyIndustryGroup], *, now: dt.datetime | None = None
) -> dict[int, list[MemberRow]]:
    """Every member of these groups with their last sample (any round), due, tested and overdue: two
    queries whatever the number of groups."""
    now = now or timezone.now()
    members = list(
        KeyIndustryMember.objects.filter(group__in=groups)
        .select_related("person")
        .order_by("person__name", "pk")
    )
    last = dict(
        Sample.objects.filter(person_id__in={m.person_id for m in members})
        .values("person_id")
        .annotate(m=Max("sampled_at"))
        .values_list("person_id", "m")
    )
    by_group: dict[int, list[KeyIndustryMember]] = {g.pk: [] for g in groups}
    for m in members:
        by_group[m.group_id].append(m)
    return {g.pk: _rows(g, by_group[g.pk], last, now) for g in groups}


def member_rows(group: KeyIndustryGroup, *, now: dt.datetime | None = None) -> list[MemberRow]:
    return member_rows_for([group], now=now)[group.pk]


# ---- writes -------------------------------------------------------------------------------------------


def do_save_group(
    *, actor: Any, name: str, industry: str, frequency_days: int, spot_check_percent: int = 100,
    community: Community | None = None, note: str = "", group: KeyIndustryGroup | None = None,
) -> KeyIndustryGroup:  # fmt: skip
    """Create or change a key-industry group: subdistrict-wide (the command centre's) or a community's
    (its office's)."""
    if actor is not None and not can_manage_in(actor, community.pk if community else None):
        raise Forbidden(_("Only the command centre or the community office keeps key-industry groups."))
    if group is not None and actor is not None and not can_manage_in(actor, group.community_id):
        raise Forbidden(_("Only the command centre or the community office keeps key-industry groups."))
    name, note = (name or "").strip(), (note or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(_("Give the group a name of at most 100 characters."), field="name")
    if industry not in Industry.values:
        raise InvalidInput(_("Choose an industry."), field="industry")
    if not isinstance(frequency_days, int) or not 1 <= frequency_days <= 90:
        raise InvalidInput(_("Test every 1 to 90 days."), field="frequency_days")
    if not isinstance(spot_check_percent, int) or not 1 <= spot_check_percent <= 100:
        raise InvalidInput(_("The spot-check share is 1 to 100 %."), field="spot_check_percent")
    if len(note) > 200:
        raise InvalidInput(_("The note is longer than 200 characters."), field="note")
    clash = KeyIndustryGroup.objects.filter(name=name)
    if group is not None:
        clash = clash.exclude(pk=group.pk)
    if clash.exists():
        raise InvalidInput(_("A group with this name exists already."), field="name")
    fields = {
        "name": name, "industry": industry, "frequency_days": frequency_days,
        "spot_check_percent": spot_check_percent, "community": community, "note": note,
    }  # fmt: skip
    with transaction.atomic():
        if group is None:
            group = KeyIndustryGroup.objects.create(
                **fields, created_by=stamp_user(actor), updated_by=stamp_user(actor)
            )
        else:
            for k, v in fields.items():
                setattr(group, k, v)
            group.updated_by = stamp_user(actor)
            group.save()
        audit.record(
            actor=actor, action="nat.save_group", obj=group,
            changes={**fields, "community": community.code if community else ""},
        )  # fmt: skip
    return group


def _person_for(name: str, id_number: str) -> Person:
    """The person with this resident ID, or a new person without a household."""
    from jiedao.registry.actions import do_register_person
    from jiedao.registry.queries import find_person_by_document

    if not name:
        raise InvalidInput(_("Give the person's name as well as the ID number."), field="name")
    number = normalize_document(IdType.RESIDENT_ID, id_number)
    person = find_person_by_document(IdType.RESIDENT_ID, number)
    if person is not None:
        # the name must match: an ID number alone must not reveal who someone is
        if person.name != name:
            raise InvalidInput(_("The name does not match the register for this ID number."), field="name")
        return person
    # a worker who lives elsewhere: on the register as a person without a household
    return do_register_person(actor=None, name=name, id_type=IdType.RESIDENT_ID, id_number=number)


def do_add_group_members(
    *, actor: Any, group: KeyIndustryGroup, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Add people to a group (from a form or a file): each row is added, already a member, or refused
    with its row, field and reason; the good rows are added even when others are refused."""
    if actor is not None and not can_manage_in(actor, group.community_id):
        raise Forbidden(_("Only the command centre or the community office keeps key-industry groups."))
    report: list[dict[str, Any]] = []
    counts = {"added": 0, "already": 0, "refused": 0}
    for raw in rows:
        name = cell_text(raw.get("name"))[:100]
        line = {"row": raw.get("row"), "name": name}
        employer = cell_text(raw.get("employer"))[:100]
        try:
            if "\x00" in name + employer:
                raise InvalidInput(_("The row holds a character that cannot be stored."), field="name")
            with transaction.atomic():
                person = _person_for(name, cell_text(raw.get("id_number")))
                _member, created = KeyIndustryMember.objects.get_or_create(
                    group=group, person=person,
                    defaults={"employer": employer, "created_by": stamp_user(actor), "updated_by": stamp_user(actor)},
                )  # fmt: skip
        except InvalidInput as exc:
            report.append(
                {**line, "status": "refused", "field": exc.field or "id_number", "message": exc.message}
            )
            counts["refused"] += 1
            continue
        except IntegrityError:  # the same person added at the same moment by someone else
            created = False
        status = "added" if created else "already"
        counts[status] += 1
        report.append({**line, "status": status})
    audit.record(actor=actor, action="nat.add_group_members", obj=group, changes=counts)
    return {"counts": counts, "items": report}


def member_rows_from_file(filename: str, data: bytes) -> list[dict[str, Any]]:
    return mapped_rows(filename, data, MEMBER_COLUMNS, max_rows=MAX_MEMBERS_PER_FILE)


def do_remove_group_member(*, actor: Any, member: KeyIndustryMember, reason: str) -> None:
    if actor is not None and not can_manage_in(actor, member.group.community_id):
        raise Forbidden(_("Only the command centre or the community office keeps key-industry groups."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the person leaves the group."), field="reason")
    with transaction.atomic():
        audit.record(
            actor=actor, action="nat.remove_group_member", obj=member.person, reason=reason,
            changes={"group": member.group.name},
        )  # fmt: skip
        member.delete()


def do_export_group(*, actor: Any, group: KeyIndustryGroup, rows: list[MemberRow]) -> bytes:
    """A group's members with their last test and status, masked, as an Excel ledger, on record."""
    from jiedao.core.ledger import Column as LedgerColumn
    from jiedao.core.ledger import write_xlsx

    columns = [
        LedgerColumn(_("Name"), 10), LedgerColumn(_("Document number"), 22, text=True),
        LedgerColumn(_("Employer"), 24), LedgerColumn(_("Last sampled"), 18),
        LedgerColumn(_("Due this period"), 10), LedgerColumn(_("Tested"), 10), LedgerColumn(_("Overdue"), 10),
    ]  # fmt: skip
    yes, no = _("yes"), _("no")
    data = (
        [r.member.person.name, r.member.person.id_masked, r.member.employer,
         timezone.localtime(r.last_sampled).strftime("%Y-%m-%d %H:%M") if r.last_sampled else "",
         yes if r.due else no, yes if r.tested else no, yes if r.overdue else no]
        for r in rows
    )  # fmt: skip
    ledger = write_xlsx(group.name, columns, data)
    audit.record(actor=actor, action="nat.export_group", obj=group, changes={"rows": ledger.rows})
    return ledger.data
