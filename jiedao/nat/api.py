"""Testing API: a sampler's phone (or a site's terminal) sends registration items — open a tube, sample
a person, close the tube — singly or in batches, each with a client key, applied exactly once. The
public list of open sites with their queues needs no sign-in and holds nothing personal. API keys need
`nat.register` to register."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from jiedao.core.errors import Forbidden, InvalidInput
from jiedao.nat.actions import do_apply_registrations
from jiedao.nat.queries import REGISTER_ROLES, can, public_sites
from jiedao.org.auth import require_permission

router = Router(tags=["nat"])
REGISTER = "nat.register"
RESULTS = "nat.results"
# a single item's answer as an HTTP status
# (a site that is not yours reads as not found, as everything outside one's area does)
STATUS = {"created": 201, "duplicate": 200, "refused": 422, "conflict": 409, "forbidden": 404}


def _require_registrar(request: HttpRequest) -> None:
    require_permission(request, REGISTER)
    if not can(request.user, REGISTER_ROLES):
        raise Forbidden(_("Only samplers and the offices register samples."))


class ItemsIn(Schema):
    items: list[dict[str, Any]]


class ItemsOut(Schema):
    items: list[dict[str, Any]]
    counts: dict[str, int]


class SiteOut(Schema):
    id: int
    name: str
    address: str
    community: str
    lat: float | None
    lng: float | None
    hours: str
    lanes: int
    status: str
    queue_length: int
    queue_updated_at: str | None


@router.post(
    "/registrations",
    response={200: ItemsOut},
    url_name="nat_registrations",
    summary="Register samples (a batch of items)",
)
def post_registrations(request: HttpRequest, payload: ItemsIn) -> Status[ItemsOut]:
    _require_registrar(request)
    result = do_apply_registrations(actor=request.user, items=payload.items)
    return Status(200, ItemsOut(items=result.items, counts=dict(result.counts)))


@router.post(
    "/registration",
    url_name="nat_registration",
    response={200: dict, 201: dict, 404: dict, 409: dict, 422: dict},
    summary="Register one item (201 created, 200 a replay, 409 the key was used for other content)",
)
def post_registration(request: HttpRequest) -> Status[dict[str, Any]]:
    _require_registrar(request)
    try:
        item = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(_("The body is not JSON."), field="body") from None
    answer = do_apply_registrations(actor=request.user, items=[item]).items[0]
    return Status(STATUS.get(answer["status"], 422), answer)


@router.get(
    "/sites",
    auth=None,
    response=list[SiteOut],
    url_name="nat_sites",
    summary="Open sampling sites and their queues (public)",
)
def get_sites(request: HttpRequest) -> list[SiteOut]:
    return [
        SiteOut(
            id=s.pk,
            name=s.name,
            address=s.address,
            community=s.community.name if s.community else "",
            lat=s.lat,
            lng=s.lng,
            hours=s.hours,
            lanes=s.lanes,
            status=s.status,
            queue_length=s.queue_length,
            queue_updated_at=s.queue_updated_at.isoformat() if s.queue_updated_at else None,
        )
        for s in public_sites()
    ]


class ResultsIn(Schema):
    key: str
    lab: str
    rows: list[dict[str, Any]]


class ResultsOut(Schema):
    batch: int
    replay: bool
    counts: dict[str, int]
    items: list[dict[str, Any]]


@router.post(
    "/results",
    response={200: ResultsOut},
    url_name="nat_results",
    summary="Record laboratory results (a batch)",
)
def post_results(request: HttpRequest, payload: ResultsIn) -> Status[ResultsOut]:
    from jiedao.nat.results import MAX_ROWS, do_record_results

    require_permission(request, RESULTS)
    if not payload.key.strip() or len(payload.key) > 100:
        raise InvalidInput(_("Send a key of 1 to 100 characters."), field="key")
    if not payload.rows or len(payload.rows) > MAX_ROWS:
        raise InvalidInput(_("Send 1 to %(n)s rows.") % {"n": MAX_ROWS}, field="rows")
    rows = [{"row": n, **r} for n, r in enumerate(payload.rows, start=1)]
    report = do_record_results(actor=request.user, rows=rows, lab=payload.lab, client_key=payload.key.strip())
    assert report.batch is not None
    return Status(
        200, ResultsOut(batch=report.batch.pk, replay=report.replay, counts=report.counts, items=report.items)
    )
