"""Printable person-code cards for people with no phone or ID card at hand (the elderly, children):
grid workers, community offices and the command centre list the residents of their own area (a
household, a grid, a compound or building, the over-60s or the under-7s) and print A4 sheets of
cards, each with the QR of the person code, the masked name and the masked ID number."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from jiedao.core.decorators import role_required
from jiedao.core.errors import InvalidInput, NotFound
from jiedao.core.htmx import render_page
from jiedao.core.identity import mask_name
from jiedao.core.listing import listing
from jiedao.core.scoping import Scope, scope_q
from jiedao.nat.personcode import CARD_ROLES, cards_in_use, do_print_person_cards, do_void_person_card
from jiedao.nat.queries import parse_id
from jiedao.places.qr import qr_svg_inline
from jiedao.registry.filters import masked_query, person_lookup_q
from jiedao.registry.models import Building, Compound, Household, Resident
from jiedao.registry.queries import communities_for, grids_for, role_scope

CODE_ROLES = CARD_ROLES
MAX_CARDS = 240  # 20 A4 sheets: a grid's elderly fit; a whole community is printed grid by grid
PER_SHEET = 12  # 3 × 4 cards of about 63 × 68 mm on A4
AGES = {"60+": gettext_lazy("60 and over"), "0-6": gettext_lazy("6 and under")}
SORTS = {"address": "household__address", "name": "person__name", "birth": "person__birth_date"}


_id = parse_id


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


@dataclass
class CodeFilters:
    community: int | None = None
    grid: int | None = None
    compound: int | None = None
    building: int | None = None
    household: int | None = None
    age: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CodeFilters:
        age = str(params.get("age") or "")
        return cls(
            community=_id(params.get("community")),
            grid=_id(params.get("grid")),
            compound=_id(params.get("compound")),
            building=_id(params.get("building")),
            household=_id(params.get("household")),
            age=age if age in AGES else "",
            q=str(params.get("q") or "").strip()[:100],
        )

    def as_params(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, "")}
        if "q" in out:
            out["q"] = masked_query(out["q"])  # the audit entry keeps no full ID or phone
        return out

    def apply(self, qs: QuerySet[Resident], today: dt.date | None = None) -> QuerySet[Resident]:
        if self.community:
            qs = qs.filter(community_id=self.community)
        if self.grid:
            qs = qs.filter(grid_id=self.grid)
        if self.compound:
            qs = qs.filter(household__flat__compound_id=self.compound)
        if self.building:
            qs = qs.filter(household__flat__entrance__building_id=self.building)
        if self.household:
            qs = qs.filter(household_id=self.household)
        if self.age:
            today = today or dt.date.today()
            if self.age == "60+":
                qs = qs.filter(person__birth_date__lte=_years_ago(today, 60))
            else:  # 6 and under: born less than 7 years ago
                qs = qs.filter(person__birth_date__gt=_years_ago(today, 7))
        if self.q:
            qs = qs.filter(person_lookup_q(self.q, "person__"))
        return qs


def _scope(request: HttpRequest) -> Scope:
    return role_scope(request.user, CODE_ROLES)


def residents_for(scope: Scope) -> QuerySet[Resident]:
    """Current residents in the area where the caller may print cards (a grid worker: their grid)."""
    return (
        Resident.objects.filter(moved_out__isnull=True)
        .filter(scope_q(scope))
        .select_related("person", "household", "grid", "community")
        .defer("person__id_number", "person__phone", "person__notes", "grid__geometry", "community__geometry")
    )


def _household(scope: Scope, pk: int | None) -> Household | None:
    """The household the list is narrowed to; one outside the caller's area reads as not found."""
    if pk is None:
        return None
    found = Household.objects.filter(scope_q(scope)).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


def _choices(request: HttpRequest, scope: Scope, filters: CodeFilters) -> dict[str, Any]:
    communities = list(communities_for(request.user, CODE_ROLES).defer("geometry").order_by("name"))
    grids = list(
        grids_for(request.user, CODE_ROLES).defer("geometry", "community__geometry").order_by("code")
    )
    compounds = Compound.objects.filter(scope_q(scope)).only("name", "community_id").order_by("name")
    if filters.community:
        compounds = compounds.filter(community_id=filters.community)
    buildings = (
        list(
            Building.objects.filter(scope_q(scope), compound_id=filters.compound)
            .only("number", "compound_id")
            .order_by("number")
        )
        if filters.compound
        else []
    )
    return {
        "communities": communities,
        "grids": grids,
        "compounds": list(compounds[:500]),
        "buildings": buildings,
        "ages": list(AGES.items()),
    }


@require_GET
@role_required(*CODE_ROLES)
def codes(request: HttpRequest) -> HttpResponse:
    """The residents of the caller's area with the filters; tick some (or none: all that match) and
    print their cards."""
    scope = _scope(request)
    filters = CodeFilters.from_params(request.GET)
    household = _household(scope, filters.household)
    qs = filters.apply(residents_for(scope))
    page = listing(request, qs, sortable=SORTS, default_sort="address")
    hidden = [(k, v) for k, v in vars(filters).items() if v not in (None, "")]  # for the print form
    context = {"list": page, "filters": filters, "household": household, "max_cards": MAX_CARDS, "hidden": hidden,
               **_choices(request, scope, filters)}  # fmt: skip
    return render_page(request, "nat/codes.html", "nat/codes_list.html", context)


@require_GET
@role_required(*CODE_ROLES)
def codes_print(request: HttpRequest) -> HttpResponse:
    """An A4 sheet of cards: the ticked residents, or every one the filters match (up to MAX_CARDS)."""
    scope = _scope(request)
    filters = CodeFilters.from_params(request.GET)
    household = _household(scope, filters.household)
    qs = filters.apply(residents_for(scope)).order_by("household__address", "pk")
    chosen = [pk for pk in (_id(v) for v in request.GET.getlist("person")) if pk]
    if chosen:
        qs = qs.filter(Q(person_id__in=chosen[:MAX_CARDS]))
    rows = list(qs[: MAX_CARDS + 1])
    more = len(rows) > MAX_CARDS
    persons, seen = [], set()
    for r in rows[:MAX_CARDS]:
        if r.person_id not in seen:  # a person living in two households gets one card
            seen.add(r.person_id)
            persons.append(r)
    params = filters.as_params() | ({"persons": len(chosen)} if chosen else {})
    codes_ = do_print_person_cards(actor=request.user, persons=[r.person for r in persons], filters=params)
    cards = [
        {
            "name": mask_name(r.person.name),
            "id_masked": r.person.id_masked,
            "place": " · ".join(x for x in (r.community.name if r.community else "", r.grid.name if r.grid else "") if x),
            "code": code,
            "qr": qr_svg_inline(code, title=mask_name(r.person.name)),
        }
        for r, code in zip(persons, codes_, strict=True)
    ]  # fmt: skip
    sheets = [cards[i : i + PER_SHEET] for i in range(0, len(cards), PER_SHEET)]
    return render(
        request,
        "nat/codes_print.html",
        {"sheets": sheets, "count": len(cards), "more": more, "max_cards": MAX_CARDS, "household": household,
         "back": request.GET.urlencode()},
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
@role_required(*CODE_ROLES)
def codes_void(request: HttpRequest, person: int) -> HttpResponse:
    """Make a resident's card void (lost, or given to someone else), after asking why; the next card
    printed for them carries a new code. Someone outside the caller's area reads as not found."""
    resident = residents_for(_scope(request)).filter(person_id=person).first()
    if resident is None:
        raise NotFound(_("Not found."))
    error = ""
    if request.method == "POST":
        try:
            do_void_person_card(
                actor=request.user, person=resident.person, reason=request.POST.get("reason", "")
            )
        except InvalidInput as exc:
            error = exc.message
        else:
            messages.success(
                request,
                _("The card of %(name)s is void: print the new card for them.")
                % {"name": resident.person.name},
            )
            return redirect("nat:codes")
    card = cards_in_use([resident.person_id])[resident.person_id]
    return render(
        request, "nat/codes_void.html", {"resident": resident, "card": card + 2, "error": error,
                                         "reason": request.POST.get("reason", "")},
    )  # fmt: skip
