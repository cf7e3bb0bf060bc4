"""List pages: whitelisted sorting and pagination shared by every ledger (HTML and API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PER_PAGE_CHOICES = (25, 50, 100)


@dataclass
class Listing:
    page: Page
    sort: str
    querystring: str  # the current filters without page, for links

    @property
    def rows(self) -> Any:
        return self.page.object_list


def sort_queryset(
    qs: QuerySet[Any], sort: str, allowed: dict[str, str], default: str
) -> tuple[QuerySet[Any], str]:
    key = sort.lstrip("-")
    if key not in allowed:
        sort, key = default, default.lstrip("-")
    field = allowed[key]
    desc = sort.startswith("-")
    return qs.order_by(("-" if desc else "") + field, "-pk" if desc else "pk"), sort


def sorted_as_listed(
    request: HttpRequest, qs: QuerySet[Any], *, sortable: dict[str, str], default_sort: str
) -> QuerySet[Any]:
    """`qs` in the order the list page shows it (an export of the list keeps the user's sort)."""
    return sort_queryset(qs, request.GET.get("sort", default_sort), sortable, default_sort)[0]


def listing(
    request: HttpRequest, qs: QuerySet[Any], *, sortable: dict[str, str], default_sort: str
) -> Listing:
    qs, sort = sort_queryset(qs, request.GET.get("sort", default_sort), sortable, default_sort)
    try:
        per_page = int(request.GET.get("per_page", PER_PAGE_CHOICES[0]))
    except ValueError:
        per_page = PER_PAGE_CHOICES[0]
    if per_page not in PER_PAGE_CHOICES:
        per_page = PER_PAGE_CHOICES[0]
    page = Paginator(qs, per_page).get_page(request.GET.get("page"))
    params = {k: v for k, v in request.GET.items() if k != "page" and v}
    return Listing(page=page, sort=sort, querystring=urlencode(params))


def sort_links(request: HttpRequest, current: str, keys: list[str]) -> dict[str, dict[str, str]]:
    """For each sortable column: the query string that sorts by it (toggling direction, keeping the
    filters, back to page 1) and its current direction, "asc", "desc" or ""."""
    params = {k: v for k, v in request.GET.items() if k not in ("sort", "page") and v}
    out = {}
    for key in keys:
        direction = "asc" if current == key else ("desc" if current == f"-{key}" else "")
        target = f"-{key}" if direction == "asc" else key
        out[key] = {"qs": urlencode({**params, "sort": target}), "dir": direction}
    return out
