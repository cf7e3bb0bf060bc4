"""Writes for closed-loop transfer (闭环转运) to centralised quarantine sites: sites and their capacity;
a transfer is planned with a team and a vehicle, the person is picked up, handed over at the site, and
the site confirms, which starts the case's measure there. Each step once, in order, timestamped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.control.actions.cases import _change, _require_manager, _user
from jiedao.control.choices import OPEN_TRANSFER_STATUSES, CaseStatus, SiteStatus, TransferStatus
from jiedao.control.models import ControlCase, QuarantineSite, Transfer
from jiedao.control.queries import TRANSFER_ROLES, can, can_in_area
from jiedao.core import audit
from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.org.choices import Role
from jiedao.protocols.choices import MeasureType

# The order of the loop; each step stamps its own time.
STEPS = {
    TransferStatus.PICKED_UP: (TransferStatus.PLANNED, "picked_up_at"),
    TransferStatus.HANDED_OVER: (TransferStatus.PICKED_UP, "handed_over_at"),
    TransferStatus.CONFIRMED: (TransferStatus.HANDED_OVER, "confirmed_at"),
}
# A step not taken within this long after the previous one shows red on the board.
LATE_AFTER = {
    TransferStatus.PLANNED: dt.timedelta(hours=1),  # after the planned pick-up time
    TransferStatus.PICKED_UP: dt.timedelta(hours=2),  # on the road
    TransferStatus.HANDED_OVER: dt.timedelta(minutes=30),  # waiting for the site's confirmation
}


def with_occupancy(qs: QuerySet[QuarantineSite]) -> QuerySet[QuarantineSite]:
    """Sites with `occupied` (people there under the measure) and `incoming` (open transfers)."""
    return qs.annotate(
        occupied=Count("cases", filter=Q(cases__status=CaseStatus.ACTIVE), distinct=True),
        incoming=Count("transfers", filter=Q(transfers__status__in=OPEN_TRANSFER_STATUSES), distinct=True),
    )


def _site_fields(name: str, address: str, capacity: Any, phone: str) -> dict[str, Any]:
    name, address, phone = (name or "").strip(), (address or "").strip(), (phone or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(_("Give the site a name (up to 100 characters)."), field="name")
    if not address or len(address) > 200:
        raise InvalidInput(_("Give the site's address (up to 200 characters)."), field="address")
    try:
        cap = int(str(capacity).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("The capacity is a number of rooms."), field="capacity")
    if not 1 <= cap <= 100000:
        raise InvalidInput(_("The capacity is between 1 and 100000."), field="capacity")
    return {"name": name, "address": address, "capacity": cap, "phone": phone[:30]}


def _require_command(actor: Any) -> None:
    if actor is not None and not can(actor, (Role.COMMAND,)):
        raise Forbidden(_("Only the command centre manages quarantine sites."))


def do_save_site(
    *,
    actor: Any,
    site: QuarantineSite | None = None,
    name: str,
    address: str,
    capacity: Any,
    phone: str = "",
    status: str = SiteStatus.OPEN,
) -> QuarantineSite:
    """Add a site, or change one. Its capacity cannot drop below the people it holds and expects."""
    _require_command(actor)
    fields = _site_fields(name, address, capacity, phone)
    if status not in SiteStatus.values:
        raise InvalidInput(_("Unknown status."), field="status")
    with transaction.atomic():
        if site is not None:
            site = QuarantineSite.objects.select_for_update().get(pk=site.pk)
            held = with_occupancy(QuarantineSite.objects.filter(pk=site.pk)).get()
            if fields["capacity"] < held.occupied + held.incoming:  # type: ignore[attr-defined]
                raise InvalidInput(
                    _("The site holds or expects %(n)s people: the capacity cannot be lower.")
                    % {"n": held.occupied + held.incoming},  # type: ignore[attr-defined]
                    field="capacity",
                )
        before = {k: getattr(site, k) for k in (*fields, "status")} if site else {}
        site = site or QuarantineSite(created_by=_user(actor))
        for k, v in {**fields, "status": status}.items():
            setattr(site, k, v)
        site.updated_by = _user(actor)
        try:
            with transaction.atomic():
                site.save()
        except IntegrityError:
            raise InvalidInput(_("Another site has this name."), field="name")
        audit.record(actor=actor, action="control.save_site", obj=site,
                     changes=audit.diff(before, {k: getattr(site, k) for k in (*fields, "status")}))  # fmt: skip
    return site


def do_plan_transfer(
    *, actor: Any, case: ControlCase, site: QuarantineSite, team: str, vehicle: str, pickup_at: dt.datetime
) -> Transfer:
    """Plan the transfer of a pending centralised-quarantine case to a site with room for one more."""
    _require_manager(actor, case)
    team, vehicle = (team or "").strip(), (vehicle or "").strip().upper()
    if not team or len(team) > 200:
        raise InvalidInput(_("Name the escort team (up to 200 characters)."), field="team")
    if not vehicle or len(vehicle) > 30:
        raise InvalidInput(_("Give the vehicle's plate number."), field="vehicle")
    if not isinstance(pickup_at, dt.datetime):
        raise InvalidInput(_("Give the pick-up time."), field="pickup_at")
    if timezone.is_naive(pickup_at):
        pickup_at = timezone.make_aware(pickup_at)
    if case.status != CaseStatus.PENDING or case.measure_type != MeasureType.CENTRAL_QUARANTINE:
        raise Conflict(_("Only a pending case under centralised quarantine is transferred to a site."))
    with transaction.atomic():
        locked = QuarantineSite.objects.select_for_update().get(pk=site.pk)  # one booking at a time
        held = with_occupancy(QuarantineSite.objects.filter(pk=locked.pk)).get()
        if locked.status != SiteStatus.OPEN:
            raise Conflict(_("%(site)s is not taking people.") % {"site": locked.name}, field="site")
        if held.occupied + held.incoming >= locked.capacity:  # type: ignore[attr-defined]
            raise Conflict(
                _("%(site)s is full (%(n)s of %(cap)s).")
                % {"site": locked.name, "n": held.occupied + held.incoming, "cap": locked.capacity},  # type: ignore[attr-defined]
                field="site",
            )
        transfer = Transfer(
            case=case, site=locked, community_id=case.community_id, grid_id=case.grid_id, team=team,
            vehicle=vehicle, pickup_at=pickup_at, created_by=_user(actor), updated_by=_user(actor),
        )  # fmt: skip
        try:
            with transaction.atomic():
                transfer.save()
        except IntegrityError:
            raise Conflict(_("This person already has a transfer under way."))
        audit.record(actor=actor, action="control.plan_transfer", obj=transfer,
                     changes={"case": case.pk, "site": locked.name, "vehicle": vehicle, "pickup_at": pickup_at})  # fmt: skip
    return transfer


def do_transfer_step(
    *, actor: Any, transfer: Transfer, step: str, received_by: str = "", note: str = ""
) -> Transfer:
    """Record the next step of the loop. The same step twice, or a step out of order, is refused. The
    site's confirmation starts the case under its measure there."""
    if actor is not None and not can_in_area(actor, TRANSFER_ROLES, transfer):
        raise Forbidden(_("Only the office, the grid worker or the police liaison record transfer steps."))
    if step not in STEPS:
        raise InvalidInput(_("Unknown step."), field="step")
    before_status, stamp = STEPS[TransferStatus(step)]
    received_by = (received_by or "").strip()
    if step == TransferStatus.HANDED_OVER and not received_by:
        raise InvalidInput(_("Name the site's staff member who received the person."), field="received_by")
    now = timezone.now()
    with transaction.atomic():
        fresh = Transfer.objects.select_for_update().select_related("case", "site").get(pk=transfer.pk)
        if fresh.status != before_status:
            done_at = getattr(fresh, stamp)
            if done_at is not None:
                raise Conflict(
                    _("This step was recorded already, at %(at)s.")
                    % {"at": f"{timezone.localtime(done_at):%m-%d %H:%M}"}
                )
            raise Conflict(
                _("This transfer is %(status)s: that step cannot come now.")
                % {"status": fresh.get_status_display()}
            )
        fresh.status = step
        setattr(fresh, stamp, now)
        if received_by:
            fresh.received_by = received_by[:100]
        if note:
            fresh.note = note.strip()[:300]
        fresh.updated_by = _user(actor)
        fresh.save()
        audit.record(actor=actor, action=f"control.transfer_{step}", obj=fresh,
                     changes={"status": [before_status, step], "received_by": received_by})  # fmt: skip
        if step == TransferStatus.CONFIRMED:
            _arrive(actor, fresh, now)
    return fresh


def _arrive(actor: Any, transfer: Transfer, now: dt.datetime) -> None:
    """The confirmed hand-over puts the case at the site and starts its measure (the transfer is the
    basis)."""
    case = ControlCase.objects.select_for_update().get(pk=transfer.case_id)
    case.site = transfer.site
    fields = ["site", "updated_at"]
    if case.status == CaseStatus.PENDING:
        case.status = CaseStatus.ACTIVE
        fields.append("status")
        basis = _("Transfer #%(pk)s: received at %(site)s by %(by)s, %(at)s") % {
            "pk": transfer.pk,
            "site": transfer.site.name,
            "by": transfer.received_by,
            "at": f"{timezone.localtime(now):%m-%d %H:%M}",
        }
        case.save(update_fields=fields)
        _change(actor, case, CaseStatus.PENDING, basis)
        audit.record(actor=actor, action="control.start_case", obj=case, reason=basis,
                     changes={"status": [CaseStatus.PENDING, CaseStatus.ACTIVE], "site": transfer.site.name})  # fmt: skip
        from jiedao.control.actions.care import do_create_test_items

        do_create_test_items(cases=[case])
    else:
        case.save(update_fields=fields)


def do_cancel_transfer(*, actor: Any, transfer: Transfer, reason: str) -> Transfer:
    _require_manager(actor, transfer)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the transfer is cancelled."), field="reason")
    with transaction.atomic():
        fresh = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if fresh.status not in OPEN_TRANSFER_STATUSES:
            raise Conflict(_("This transfer is finished already."))
        before = fresh.status
        fresh.status, fresh.cancelled_at, fresh.note = TransferStatus.CANCELLED, timezone.now(), reason[:300]
        fresh.updated_by = _user(actor)
        fresh.save()
        audit.record(actor=actor, action="control.cancel_transfer", obj=fresh, reason=reason,
                     changes={"status": [before, TransferStatus.CANCELLED]})  # fmt: skip
    return fresh


def is_late(transfer: Transfer, now: dt.datetime | None = None) -> bool:
    """Whether the next step is overdue: the board shows it red."""
    if transfer.status not in LATE_AFTER:
        return False
    return (now or timezone.now()) > transfer.last_step_at + LATE_AFTER[TransferStatus(transfer.status)]


def do_export_transfers(*, actor: Any, queryset: Any, filters: dict[str, Any]) -> bytes:
    """The transfer ledger, on record (who took which rows with which filters), like the case export."""
    from jiedao.control.exports import transfers_xlsx

    ledger = transfers_xlsx(queryset, timezone.now())
    audit.record(actor=actor, action="control.export_transfers", object_type="control.transfer",
                 changes={"filters": filters, "rows": ledger.rows})  # fmt: skip
    return ledger.data
