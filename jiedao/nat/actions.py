"""Writes for nucleic-acid testing: sampling sites and their live status, and testing rounds. The
registration items a sampler's phone sends are applied in `jiedao.nat.registration`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core import audit
from jiedao.core.errors import Forbidden, InvalidInput
from jiedao.core.models import stamp_user
from jiedao.nat.choices import RoundKind, RoundStatus, SiteStatus
from jiedao.nat.models import SamplingSite, TestingRound
from jiedao.nat.queries import can_manage_in, can_staff_site, samplers_in
from jiedao.org.models import Community, Grid
from jiedao.registry.models import Compound

MAX_QUEUE = 100_000


# ---- sites -----------------------------------------------------------------------------------------


def do_save_site(
    *,
    actor: Any,
    name: str,
    community: Community,
    site: SamplingSite | None = None,
    grid: Grid | None = None,
    address: str = "",
    lat: float | None = None,
    lng: float | None = None,
    hours: str = "",
    lanes: int = 1,
    staff: list[Any] | None = None,
) -> SamplingSite:
    """Create a sampling site, or change one (the command centre, or the community's office). `staff`
    (None: unchanged) are samplers of the site's community, or of the whole subdistrict."""
    if actor is not None and not can_manage_in(actor, community.pk):
        raise Forbidden(_("Only the command centre or the community office sets up sampling sites."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(_("Give the site a name of at most 100 characters."), field="name")
    if grid is not None and grid.community_id != community.pk:
        raise InvalidInput(_("The grid is not in this community."), field="grid")
    if not isinstance(lanes, int) or not 1 <= lanes <= 50:
        raise InvalidInput(_("A site has 1 to 50 lanes."), field="lanes")
    for value, low, high, fname in ((lat, -90, 90, "lat"), (lng, -180, 180, "lng")):
        if value is not None and not low <= value <= high:
            raise InvalidInput(_("The coordinate is out of range."), field=fname)
    others = SamplingSite.objects.filter(name=name)
    taken = (others.exclude(pk=site.pk) if site is not None else others).exists()
    if taken:
        raise InvalidInput(_("Another site already has this name."), field="name")
    if staff is not None:
        allowed = set(samplers_in([community.pk]).values_list("pk", flat=True))
        if any(u.pk not in allowed for u in staff):
            raise InvalidInput(_("Site staff must be samplers of this community."), field="staff")
    fields = {
        "name": name, "community": community, "grid": grid, "address": (address or "").strip()[:200],
        "lat": lat, "lng": lng, "hours": (hours or "").strip()[:100], "lanes": lanes,
    }  # fmt: skip
    with transaction.atomic():
        if site is None:
            site = SamplingSite.objects.create(
                **fields, created_by=stamp_user(actor), updated_by=stamp_user(actor)
            )
        else:
            for k, v in fields.items():
                setattr(site, k, v)
            site.updated_by = stamp_user(actor)
            site.save()
        if staff is not None:
            site.staff.set(staff)
        audit.record(
            actor=actor, action="nat.save_site", obj=site,
            changes={"name": name, "community": community.code, "lanes": lanes, "hours": site.hours,
                     "staff": sorted(u.username for u in staff) if staff is not None else "unchanged"},
        )  # fmt: skip
    return site


def do_set_site_status(
    *, actor: Any, site: SamplingSite, status: str | None = None, queue_length: int | None = None
) -> SamplingSite:
    """Site staff say whether the site is open and how many people are waiting; the public map shows it."""
    if actor is not None and not can_staff_site(actor, site):
        raise Forbidden(_("Only this site's staff or its community office set its status."))
    changes: dict[str, Any] = {}
    if status is not None:
        if status not in SiteStatus.values:
            raise InvalidInput(_("Choose open, paused or closed."), field="status")
        site.status = changes["status"] = status
    if queue_length is not None:
        if not isinstance(queue_length, int) or not 0 <= queue_length <= MAX_QUEUE:
            raise InvalidInput(_("The queue is a number of people, 0 or more."), field="queue_length")
        site.queue_length = changes["queue_length"] = queue_length
        site.queue_updated_at = timezone.now()
    if not changes:
        raise InvalidInput(_("Nothing to change."), field="status")
    with transaction.atomic():
        site.updated_by = stamp_user(actor)
        site.save(update_fields=["status", "queue_length", "queue_updated_at", "updated_by", "updated_at"])
        audit.record(actor=actor, action="nat.site_status", obj=site, changes=changes)
    return site


# ---- rounds ----------------------------------------------------------------------------------------


def do_open_round(
    *,
    actor: Any,
    name: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    kind: str = RoundKind.MASS,
    communities: list[Community] | None = None,
    compounds: list[Compound] | None = None,
    sites: list[SamplingSite] | None = None,
) -> TestingRound:
    """A round with its window, scope (nothing = the whole subdistrict) and sites. The command centre's."""
    if actor is not None and not can_manage_in(actor, None):
        raise Forbidden(_("Only the command centre opens testing rounds."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(_("Give the round a name of at most 100 characters."), field="name")
    if kind not in RoundKind.values:
        raise InvalidInput(_("Choose a mass-testing round or a routine programme."), field="kind")
    if ends_at <= starts_at:
        raise InvalidInput(_("The round must end after it starts."), field="ends_at")
    with transaction.atomic():
        rnd = TestingRound.objects.create(
            name=name, kind=kind, starts_at=starts_at, ends_at=ends_at, status=RoundStatus.OPEN,
            created_by=stamp_user(actor), updated_by=stamp_user(actor),
        )  # fmt: skip
        rnd.communities.set(communities or [])
        rnd.compounds.set(compounds or [])
        rnd.sites.set(sites or [])
        audit.record(
            actor=actor, action="nat.open_round", obj=rnd,
            changes={"name": name, "kind": kind, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                     "communities": [c.code for c in communities or []], "sites": len(sites or [])},
        )  # fmt: skip
    return rnd


# ---- registrations: jiedao.nat.registration ------------------------------------------------------

from jiedao.nat.registration import do_apply_registrations  # noqa: E402,F401  (one import for callers)


def do_export_missing(*, actor: Any, rnd: TestingRound, queryset: Any, filters: dict[str, Any]) -> bytes:
    """The residents not yet sampled in a round, masked, as an Excel ledger, on record."""
    from jiedao.core.ledger import Column, write_xlsx

    columns = [
        Column(_("Name"), 10), Column(_("Document number"), 22, text=True), Column(_("Phone"), 14, text=True),
        Column(_("Address"), 30), Column(_("Community"), 12), Column(_("Grid"), 12),
    ]  # fmt: skip
    rows = (
        [r.person.name, r.person.id_masked, r.person.phone_masked, r.household.address,
         r.community.name if r.community else "", r.grid.name if r.grid else ""]
        for r in queryset.iterator(chunk_size=2000)
    )  # fmt: skip
    ledger = write_xlsx(_("Not yet sampled"), columns, rows)
    audit.record(
        actor=actor, action="nat.export_missing", obj=rnd, changes={"filters": filters, "rows": ledger.rows}
    )
    return ledger.data
