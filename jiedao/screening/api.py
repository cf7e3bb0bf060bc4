"""Screening API: a city platform pushes lists of key persons in batches (each list and entry carries
the sender's idempotency key, so re-sending changes nothing) and reads back what became of them;
staff read key persons within their area. API keys need `screening.push` to push and `screening.read`
to read; pushing also needs the command centre's role for the whole subdistrict."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from jiedao.core.errors import Forbidden, NotFound
from jiedao.core.listing import sort_queryset
from jiedao.org.auth import require_permission
from jiedao.screening import actions
from jiedao.screening.filters import KEY_PERSON_SORTS, LEDGER_SORT, KeyPersonFilters
from jiedao.screening.models import PushedList
from jiedao.screening.queries import (
    INTAKE_ROLES,
    READ_ROLES,
    access_key_person,
    access_pushed_list,
    can,
    key_persons_visible_to,
    list_stats,
    result_entries,
    role_scope,
    sources_of,
)
from jiedao.screening.schemas import (
    EntriesIn,
    KeyPersonDetail,
    KeyPersonPage,
    KeyPersonQuery,
    ListIn,
    ListOut,
    PageQuery,
    PushOut,
    ResultPage,
    key_person_out,
    list_out,
    result_out,
    source_out,
)

router = Router(tags=["screening"])

PUSH = "screening.push"
READ = "screening.read"


def _require_pusher(request: HttpRequest) -> None:
    """Refuse early, before the body is checked, whoever may not push at all (the actions hold the rule
    too; this only makes the answer a 403 rather than a complaint about the body)."""
    require_permission(request, PUSH)
    user = request.user
    if not can(user, INTAKE_ROLES) or not role_scope(user, INTAKE_ROLES).everything:
        raise Forbidden(_("Only the subdistrict command centre receives pushed lists."))


def _page(qs: QuerySet[Any], query: PageQuery) -> Page[Any]:
    return Paginator(qs, query.per_page).get_page(query.page)


def _page_body(page: Page[Any], per_page: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "per_page": per_page,
        "results": results,
    }


def _list_body(plist: PushedList) -> dict[str, Any]:
    return list_out(plist, list_stats([plist.pk])[plist.pk])


# ---- pushing ------------------------------------------------------------------------------------


@router.post(
    "/lists",
    url_name="screening_list_open",
    response={200: ListOut, 201: ListOut},
    summary="Open a pushed list (idempotent by key)",
)
def open_list(request: HttpRequest, payload: ListIn) -> Status[dict[str, Any]]:
    """201 with the new list; 200 with the same list when its `key` came before with the same title,
    issuer, source and category; 409 when the key was used for another list."""
    _require_pusher(request)
    meta = actions.check_list_meta(
        title=payload.title, issuer=payload.issuer, source=payload.source, category=payload.category,
        received_at=payload.received_at,
    )  # fmt: skip
    plist, created = actions.do_open_list(actor=request.user, client_key=payload.key, meta=meta)
    return Status(201 if created else 200, _list_body(plist))


@router.post(
    "/lists/{list_id}/entries",
    url_name="screening_list_entries",
    response={200: PushOut, 201: PushOut},
    summary="Push a batch of entries to a list (idempotent by entry key)",
)
def push_entries(request: HttpRequest, list_id: int, payload: EntriesIn) -> Status[dict[str, Any]]:
    """At most 1000 entries. Each is applied exactly once by its `key`: the same key and content again
    is a `duplicate`. A key sent before with other content answers 409, any bad entry 422 with every
    problem in `error.details` (`entry` is the 1-based position in the batch, `field` the field):
    either way nothing of the batch is written. 201 when something was created, else 200."""
    _require_pusher(request)
    plist = PushedList.objects.filter(pk=list_id).first()
    if plist is None:
        raise NotFound(_("Not found."))
    result = actions.do_push_entries(
        actor=request.user, plist=plist, entries=[e.model_dump() for e in payload.entries]
    )
    body = {"created": result.created, "duplicates": result.duplicates, "entries": result.entries}
    return Status(201 if result.created else 200, body)


# ---- reading lists (command centre and auditors) ------------------------------------------------


@router.get("/lists/{list_id}", url_name="screening_list", response=ListOut, summary="One pushed list")
def get_list(request: HttpRequest, list_id: int) -> dict[str, Any]:
    """The list with its counts: received, matched, routed, verified, classified, overdue, in the
    dispatch queue, handed back."""
    require_permission(request, READ)
    return _list_body(access_pushed_list(request.user, list_id))


@router.get(
    "/lists/{list_id}/results",
    url_name="screening_list_results",
    response=ResultPage,
    summary="What became of each entry of a list",
)
def list_results(request: HttpRequest, list_id: int, query: Query[PageQuery]) -> dict[str, Any]:
    """The feedback up the chain, by row: the match, the community and grid it was routed to, the
    status, the last verification's outcome and where, the classified category and measure dates, and
    every hand-back with its reason. `page`, `per_page` (≤ 100)."""
    require_permission(request, READ)
    plist = access_pushed_list(request.user, list_id)
    entries = result_entries(plist)
    page = _page(entries, query)
    return _page_body(page, query.per_page, [result_out(e, plist.protocol_key) for e in page.object_list])


# ---- key persons (scoped) -----------------------------------------------------------------------


@router.get(
    "/key-persons", url_name="screening_key_persons", response=KeyPersonPage, summary="List key persons"
)
def list_key_persons(request: HttpRequest, query: Query[KeyPersonQuery]) -> dict[str, Any]:
    """Key persons in the caller's area. Filters: `status` (a status, `open` or `verified`), `category`,
    `source`, `community`, `grid`, `list`, `overdue`, `review`, `q`; `sort` (due, name, received,
    status, verified; `-` for descending); `page`, `per_page` (≤ 100)."""
    require_permission(request, READ)
    if not can(request.user, READ_ROLES):
        raise Forbidden(_("Your role does not see key persons."))
    filters = KeyPersonFilters.from_params(query.model_dump(exclude={"page", "per_page", "sort"}))
    qs, _sort = sort_queryset(
        filters.apply(key_persons_visible_to(request.user)), query.sort, KEY_PERSON_SORTS, LEDGER_SORT
    )
    page = _page(qs, query)
    now = timezone.now()
    return _page_body(page, query.per_page, [key_person_out(kp, now) for kp in page.object_list])


@router.get(
    "/key-persons/{key_person_id}",
    url_name="screening_key_person",
    response=KeyPersonDetail,
    summary="One key person with every entry that named them",
)
def get_key_person(request: HttpRequest, key_person_id: int) -> dict[str, Any]:
    require_permission(request, READ)
    kp = access_key_person(request.user, key_person_id)
    body = key_person_out(kp)
    body["sources"] = [source_out(e) for e in sources_of(kp)]
    return body
