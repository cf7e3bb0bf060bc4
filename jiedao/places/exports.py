"""Excel ledger of places: the filtered list as the office keeps it, phones masked (core.ledger writes it)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from jiedao.core.ledger import Column, Ledger, write_xlsx
from jiedao.places.choices import PlaceKind


def places_workbook(places: Any) -> Ledger:
    """Write `places` (a queryset with community and grid joined) to an xlsx; return bytes and row count."""
    columns = [
        Column(_("Venue code"), 14, text=True), Column(_("Place name"), 30), Column(_("Kind"), 14),
        Column(_("Community"), 14), Column(_("Grid"), 14), Column(_("Address"), 36), Column(_("Contact"), 12),
        Column(_("Contact phone"), 16, text=True), Column(_("Unified social credit code"), 22, text=True),
        Column(_("Active"), 8),
    ]  # fmt: skip
    labels = dict(PlaceKind.choices)
    yes, no = _("Yes"), _("No")

    def row(place: Any) -> list[Any]:
        return [
            place.venue_code, place.name, str(labels.get(place.kind, place.kind)), place.community.name,
            place.grid.name if place.grid_id else "", place.address, place.contact_name,
            place.contact_phone_masked, place.credit_code, yes if place.active else no,
        ]  # fmt: skip

    rows = places.iterator(chunk_size=2000) if hasattr(places, "iterator") else places
    return write_xlsx(_("Places"), columns, map(row, rows))
