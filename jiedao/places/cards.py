"""Dashboard cards for places: how many active places of each key kind are in the user's area."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from jiedao.core.dashboard import Card, register
from jiedao.places.choices import DASHBOARD_KINDS, PlaceKind
from jiedao.places.queries import can_view_places, counts_by_kind

_TITLES = {
    PlaceKind.CLINIC: lambda: _("Clinics"),
    PlaceKind.PHARMACY: lambda: _("Pharmacies"),
    PlaceKind.FEVER_CLINIC: lambda: _("Fever clinics"),
}


@register(order=30)
def place_cards(user: Any) -> list[Card]:
    if not can_view_places(user):
        return []
    counts = counts_by_kind(user)
    base = reverse("places:list")
    cards = [
        Card(
            title=_("Places"),
            value=sum(counts.values()),
            url=base,
            note=_("%(n)d kinds") % {"n": len(counts)},
        )
    ]
    for kind in DASHBOARD_KINDS:
        title = _TITLES[kind]() if kind in _TITLES else str(kind.label)
        cards.append(
            Card(
                title=title, value=counts.get(kind.value, 0), url=f"{base}?{urlencode({'kind': kind.value})}"
            )
        )
    return cards
