"""Writes that plan a round around its people: which site each compound goes to, who is exempt and
why (bedridden people get a home-sampling work item), and the grid workers' work items for the
residents not yet sampled."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.control.queries import can, can_in_area
from jiedao.core import audit
from jiedao.core.errors import Forbidden, InvalidInput, NotFound
from jiedao.core.models import stamp_user
from jiedao.nat.choices import ExemptionReason, RoundStatus, SiteStatus
from jiedao.nat.models import Exemption, RoundAssignment, Sample, SamplingSite, TestingRound
from jiedao.nat.queries import can_manage_in
from jiedao.org.choices import Role
from jiedao.org.models import Community, Grid
from jiedao.registry.models import Compound, Person, Resident

# Who may exempt a resident of their area from a round (with a reason) and who gets the missing lists.
EXEMPT_ROLES = (Role.COMMAND, Role.COMMUNITY_STAFF, Role.GRID_WORKER)
HOME_SAMPLING_WITHIN = dt.timedelta(hours=12)


def _open(rnd: TestingRound) -> None:
    if rnd.status == RoundStatus.CLOSED:
        raise InvalidInput(_("This round is closed."), field="round")


def compounds_in_scope(rnd: TestingRound) -> Any:
    """The compounds whose residents the round covers (its compounds, else its communities' compounds,
    else every compound)."""
    compound_ids = list(rnd.compounds.values_list("pk", flat=True))
    if compound_ids:
        return Compound.objects.filter(pk__in=compound_ids)
    community_ids = list(rnd.communities.values_list("pk", flat=True))
    qs = Compound.objects.all()
    return qs.filter(community_id__in=community_ids) if community_ids else qs


# ---- site assignment ---------------------------------------------------------------------------------


def do_assign_site(*, actor: Any, rnd: TestingRound, compound: Compound, site: SamplingSite | None) -> None:
    """Send a compound's residents to one of the round's sites (None: take the assignment away). The
    command centre anywhere; a community office for its own compounds."""
    if actor is not None and not can_manage_in(actor, compound.community_id):
        raise Forbidden(_("Only the command centre or the community office assigns sites."))
    _open(rnd)
    if not compounds_in_scope(rnd).filter(pk=compound.pk).exists():
        raise InvalidInput(_("This compound is not in the round's scope."), field="compound")
    if site is not None and not rnd.sites.filter(pk=site.pk).exists():
        raise InvalidInput(_("This site does not sample for the round."), field="site")
    with transaction.atomic():
        if site is None:
            RoundAssignment.objects.filter(round=rnd, compound=compound).delete()
        else:
            RoundAssignment.objects.update_or_create(
                round=rnd,
                compound=compound,
                defaults={"site": site, "updated_by": stamp_user(actor)},
                create_defaults={
                    "site": site,
                    "created_by": stamp_user(actor),
                    "updated_by": stamp_user(actor),
                },
            )
        audit.record(
            actor=actor, action="nat.assign_site", obj=rnd,
            changes={"compound": compound.name, "site": site.name if site else ""},
        )  # fmt: skip


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    # equirectangular: exact enough for choosing the nearest site within a subdistrict
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    y = math.radians(b[0] - a[0])
    return math.hypot(x, y)


def do_assign_nearest_sites(*, actor: Any, rnd: TestingRound) -> dict[str, int]:
    """Assign every unassigned compound in scope to the nearest open site of the round (its own
    community's sites first, by straight-line distance). Compounds without coordinates, or without a
    site in reach, stay unassigned and are counted."""
    if actor is not None and not can_manage_in(actor, None):
        raise Forbidden(_("Only the command centre assigns sites for the whole round."))
    _open(rnd)
    sites = [
        s for s in rnd.sites.exclude(status=SiteStatus.CLOSED).exclude(lat=None).exclude(lng=None)
    ]  # fmt: skip
    if not sites:
        raise InvalidInput(_("The round has no open site with coordinates."), field="sites")
    taken = set(RoundAssignment.objects.filter(round=rnd).values_list("compound_id", flat=True))
    new: list[RoundAssignment] = []
    skipped = 0
    for compound in compounds_in_scope(rnd).only("pk", "lat", "lng", "community_id").order_by("pk"):
        if compound.pk in taken:
            continue
        if compound.lat is None or compound.lng is None:
            skipped += 1
            continue
        here = (compound.lat, compound.lng)
        own = [s for s in sites if s.community_id == compound.community_id] or sites
        best = min(own, key=lambda s: (_distance(here, (s.lat, s.lng)), s.pk))  # type: ignore[arg-type]
        new.append(
            RoundAssignment(
                round=rnd,
                compound=compound,
                site=best,
                created_by=stamp_user(actor),
                updated_by=stamp_user(actor),
            )
        )
    with transaction.atomic():
        RoundAssignment.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
        counts = {"assigned": len(new), "kept": len(taken), "no_coordinates": skipped}
        audit.record(actor=actor, action="nat.assign_nearest_sites", obj=rnd, changes=counts)
    return counts


def assignment_rows(rnd: TestingRound, scope: Any) -> list[dict[str, Any]]:
    """Each compound in scope (and in the caller's area) with its assigned site and residents due."""
    qs = compounds_in_scope(rnd)
    if not scope.everything:
        qs = qs.filter(community_id__in=scope.community_ids) | qs.filter(grid_id__in=scope.grid_ids)
    residents = dict(
        Resident.objects.filter(moved_out__isnull=True, household__flat__compound__in=qs)
        .values("household__flat__compound_id")
        .annotate(n=Count("pk"))
        .values_list("household__flat__compound_id", "n")
    )
    sites = {
        a.compound_id: a.site
        for a in RoundAssignment.objects.filter(round=rnd)
        .select_related("site")
        .only("compound_id", "site__name", "site__status", "site__queue_length")
    }
    return [
        {"compound": c, "site": sites.get(c.pk), "residents": residents.get(c.pk, 0)}
        for c in qs.select_related("community")
        .defer("geometry", "community__geometry")
        .order_by("community__name", "name")
    ]


# ---- exemptions ---------------------------------------------------------------------------------------


def do_exempt_person(
    *, actor: Any, rnd: TestingRound, person: Person, reason: str, note: str = ""
) -> Exemption:
    """Record why a resident is not expected at a site in this round. A bedridden person is sampled
    at home: their grid gets a home-sampling work item, due within 12 hours. `other` needs a note.
    The same person twice changes the reason (no second row)."""
    if actor is not None and not can_in_area(actor, EXEMPT_ROLES, person):
        raise NotFound(_("Not found."))
    _open(rnd)
    if reason not in ExemptionReason.values:
        raise InvalidInput(_("Choose a reason."), field="reason")
    note = (note or "").strip()
    if len(note) > 200:
        raise InvalidInput(_("The note is longer than 200 characters."), field="note")
    if reason == ExemptionReason.OTHER and not note:
        raise InvalidInput(_("Say why in the note."), field="note")
    from jiedao.nat.coverage import residents_in_scope

    if not residents_in_scope(rnd).filter(person=person).exists():
        raise InvalidInput(_("This person is not a resident in the round's scope."), field="person")
    if "\x00" in note:
        raise InvalidInput(_("The note holds a character that cannot be stored."), field="note")
    with transaction.atomic():
        exemption, created = Exemption.objects.select_for_update().get_or_create(
            round=rnd,
            person=person,
            defaults={
                "reason": reason,
                "note": note,
                "created_by": stamp_user(actor),
                "updated_by": stamp_user(actor),
            },
        )
        if not created:
            exemption.reason, exemption.note, exemption.updated_by = reason, note, stamp_user(actor)
            exemption.save(update_fields=["reason", "note", "updated_by", "updated_at"])
        item = exemption.work_item
        if reason == ExemptionReason.HOME_SAMPLING and (item is None or not item.is_open):
            # a new task when there is none open (a lifted or finished one stays as it was)
            exemption.work_item = _home_sampling_item(actor, rnd, person, note, exemption)
            exemption.save(update_fields=["work_item", "updated_at"])
        elif reason != ExemptionReason.HOME_SAMPLING and item is not None:
            if item.is_open:
                _cancel(
                    item, _("No longer bedridden: %(reason)s") % {"reason": exemption.get_reason_display()}
                )
            exemption.work_item = None
            exemption.save(update_fields=["work_item", "updated_at"])
        audit.record(
            actor=actor, action="nat.exempt", obj=person,
            changes={"round": rnd.pk, "reason": reason, "note": note, "changed": not created},
        )  # fmt: skip
    return exemption


def _cancel(item: Any, reason: str) -> None:
    from jiedao.work.actions import do_cancel_work_item

    # the system cancels: a grid worker may change an exemption but not cancel work items
    do_cancel_work_item(actor=None, item=item, reason=reason)


def _home_sampling_item(
    actor: Any, rnd: TestingRound, person: Person, note: str, exemption: Exemption
) -> Any:
    from jiedao.work.actions import do_create_work_item
    from jiedao.work.choices import Priority

    community = Community.objects.defer("geometry").filter(pk=person.community_id or 0).first()
    grid = Grid.objects.defer("geometry").filter(pk=person.grid_id or 0).first()
    return do_create_work_item(
        actor=actor, kind="nat.home_sampling",
        title=_("Home sampling: %(name)s (%(round)s)") % {"name": person.name, "round": rnd.name},
        due_at=_due(rnd, HOME_SAMPLING_WITHIN), community=community, grid=grid,
        role=Role.GRID_WORKER if grid else Role.COMMUNITY_STAFF, priority=Priority.HIGH, subject=person,
        detail=note, dedupe_key=f"nat.home:{rnd.pk}:{person.pk}:{exemption.pk}:{timezone.now():%Y%m%d%H%M%S%f}",
    )  # fmt: skip


def _due(rnd: TestingRound, within: dt.timedelta) -> dt.datetime:
    """`within` from now, but by the round's end while that is at least an hour away."""
    now = timezone.now()
    return min(now + within, rnd.ends_at) if rnd.ends_at > now + dt.timedelta(hours=1) else now + within


def do_complete_home_sampling(*, rnd: TestingRound, person_id: int, barcode: str) -> None:
    """A bedridden person sampled (at home): their open home-sampling item is done."""
    from jiedao.work.actions import do_complete_work_item

    found = (
        Exemption.objects.filter(round=rnd, person_id=person_id, reason=ExemptionReason.HOME_SAMPLING)
        .select_related("work_item")
        .first()
    )
    if found is not None and found.work_item is not None and found.work_item.is_open:
        do_complete_work_item(
            actor=None, item=found.work_item, outcome=_("Sampled into tube %(code)s.") % {"code": barcode}
        )


def do_lift_exemption(*, actor: Any, exemption: Exemption) -> None:
    """The person is expected at a site after all; an open home-sampling item is cancelled."""
    if actor is not None and not can_in_area(actor, EXEMPT_ROLES, exemption.person):
        raise NotFound(_("Not found."))
    _open(exemption.round)
    from jiedao.work.choices import OPEN_STATUSES
    from jiedao.work.models import WorkItem

    with transaction.atomic():
        item = WorkItem.objects.filter(pk=exemption.work_item_id or 0, status__in=OPEN_STATUSES).first()
        if item is not None:
            _cancel(item, _("The exemption was lifted."))
        audit.record(
            actor=actor, action="nat.lift_exemption", obj=exemption.person,
            changes={"round": exemption.round_id, "reason": exemption.reason},
        )  # fmt: skip
        exemption.delete()


# ---- work items for the missing -----------------------------------------------------------------------


def do_issue_missing_work_items(*, actor: Any, rnd: TestingRound, due_in_hours: int = 4) -> dict[str, int]:
    """One work item per grid (per community office for residents without a grid) with residents in
    scope neither sampled nor exempt: "find these N people", linking to the missing list. Issued again,
    an open item gets the new count and deadline (on record), a finished one is followed by a new one
    while people are still missing, and the open item of an area with nobody missing any more is done."""
    from jiedao.work.actions import do_complete_work_item, do_create_work_item, do_move_work_item_due
    from jiedao.work.choices import OPEN_STATUSES, Priority
    from jiedao.work.models import WorkItem

    if actor is not None and not can_manage_in(actor, None):
        raise Forbidden(_("Only the command centre sends the missing lists to the grids."))
    _open(rnd)
    if not isinstance(due_in_hours, int) or not 1 <= due_in_hours <= 48:
        raise InvalidInput(_("The deadline must be 1 to 48 hours away."), field="due_in_hours")
    from jiedao.nat.coverage import residents_in_scope

    per_area = {
        (row["community_id"], row["grid_id"]): row["n"]
        for row in residents_in_scope(rnd)
        .exclude(community=None)
        .filter(~Exists(Sample.objects.filter(round=rnd, person_id=OuterRef("person_id"))))
        .filter(~Exists(Exemption.objects.filter(round=rnd, person_id=OuterRef("person_id"))))
        .values("community_id", "grid_id")
        .annotate(n=Count("pk"))
        .order_by("community_id", "grid_id")
    }
    due = timezone.now() + dt.timedelta(hours=due_in_hours)
    prefix = f"nat.missing:{rnd.pk}:"
    open_items = {
        (w.community_id, w.grid_id): w
        for w in WorkItem.objects.filter(dedupe_key__startswith=prefix, status__in=OPEN_STATUSES)
    }
    issued_n: dict[tuple[int | None, int | None], int] = {}
    for c, g in WorkItem.objects.filter(dedupe_key__startswith=prefix).values_list("community_id", "grid_id"):
        issued_n[(c, g)] = issued_n.get((c, g), 0) + 1
    communities = Community.objects.defer("geometry").in_bulk([c for c, _g in per_area])
    grids = Grid.objects.defer("geometry").in_bulk([g for _c, g in per_area if g])
    counts = {"created": 0, "updated": 0, "done": 0, "people": 0}
    with transaction.atomic():
        for (community_id, grid_id), n in per_area.items():
            counts["people"] += n
            title = _("%(round)s: %(n)s residents not yet sampled") % {"round": rnd.name, "n": n}
            existing = open_items.pop((community_id, grid_id), None)
            if existing is not None:
                existing.title = title
                existing.save(update_fields=["title", "updated_at"])
                do_move_work_item_due(actor=actor, item=existing, due_at=due, reason=title)
                counts["updated"] += 1
                continue
            query = f"grid={grid_id}" if grid_id else f"community={community_id}"
            item = do_create_work_item(
                actor=actor, kind="nat.missing", title=title, due_at=due, community=communities[community_id],
                grid=grids.get(grid_id) if grid_id else None,
                role=Role.GRID_WORKER if grid_id else Role.COMMUNITY_STAFF, priority=Priority.HIGH, subject=rnd,
                dedupe_key=f"{prefix}{community_id}:{grid_id or 0}:{issued_n.get((community_id, grid_id), 0) + 1}",
                detail=_("Find them, sample them or record why they are exempt."),
            )  # fmt: skip
            WorkItem.objects.filter(pk=item.pk).update(subject_url=f"/nat/rounds/{rnd.pk}/missing/?{query}")
            counts["created"] += 1
        for item in open_items.values():  # nobody missing there any more
            do_complete_work_item(actor=None, item=item, outcome=_("Everyone is sampled or exempt."))
            counts["done"] += 1
        TestingRound.objects.filter(pk=rnd.pk).update(missing_sent_at=timezone.now())
        audit.record(actor=actor, action="nat.issue_missing", obj=rnd, changes=counts)
    return counts


MISSING_EVERY = (1, 2, 3, 4, 6, 8, 12)  # hours between automatic sends of the missing lists


def do_set_missing_schedule(*, actor: Any, rnd: TestingRound, every_hours: int | None) -> TestingRound:
    """Send the missing lists to the grids every N hours while the round is under way (None: by hand
    only). The command centre decides; it is on record."""
    if actor is not None and not can_manage_in(actor, None):
        raise Forbidden(_("Only the command centre sends the missing lists to the grids."))
    _open(rnd)
    if every_hours is not None and every_hours not in MISSING_EVERY:
        raise InvalidInput(
            _("Choose every 1, 2, 3, 4, 6, 8 or 12 hours, or by hand."), field="missing_every_hours"
        )
    with transaction.atomic():
        before = rnd.missing_every_hours
        rnd.missing_every_hours = every_hours
        rnd.save(update_fields=["missing_every_hours", "updated_at"])
        audit.record(
            actor=actor, action="nat.missing_schedule", obj=rnd,
            changes={"missing_every_hours": [before, every_hours]},
        )  # fmt: skip
    return rnd


def next_missing_send(rnd: TestingRound) -> dt.datetime | None:
    """When the missing lists go out next by themselves (None: by hand, or the round is over)."""
    if not rnd.missing_every_hours or rnd.status == RoundStatus.CLOSED:
        return None
    every = dt.timedelta(hours=rnd.missing_every_hours)
    due = (rnd.missing_sent_at or rnd.starts_at) + every
    return due if due <= rnd.ends_at else None


def do_send_due_missing_lists(now: dt.datetime | None = None) -> list[int]:
    """The periodic job: every open round under way whose missing lists are due sends them (the ids
    of those rounds). A round that cannot (closed meanwhile) is left for the next run."""
    now = now or timezone.now()
    sent = []
    rounds = TestingRound.objects.filter(
        status=RoundStatus.OPEN, missing_every_hours__isnull=False, starts_at__lte=now, ends_at__gte=now
    )
    for rnd in rounds.order_by("pk"):
        due = next_missing_send(rnd)
        if due is not None and due <= now:
            do_issue_missing_work_items(actor=None, rnd=rnd)
            sent.append(rnd.pk)
    return sent


def can_exempt(user: Any) -> bool:
    return can(user, EXEMPT_ROLES)
