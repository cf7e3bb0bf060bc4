"""Masked Excel ledgers of the households and persons lists (core.ledger writes them, row by row). Only
the masked columns are written (the list querysets do not even load the encrypted ones)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from jiedao.core.ledger import Column, Ledger, write_xlsx

EXPORT_MAX_ROWS = 200_000


def households_xlsx(queryset: Any) -> Ledger:
    columns = [
        Column(_("File number"), 16, text=True), Column(_("Address"), 36), Column(_("Compound"), 16),
        Column(_("Community"), 16), Column(_("Grid"), 16), Column(_("Head of household"), 16),
        Column(_("Head's ID number"), 16, text=True), Column(_("Head's phone"), 16, text=True),
        Column(_("Members")), Column(_("With care needs")), Column(_("Status")),
    ]  # fmt: skip

    def row(hh: Any) -> list[Any]:
        head = hh.head
        return [
            hh.file_no, hh.address, hh.flat.compound.name if hh.flat_id else "",
            hh.community.name if hh.community_id else "", hh.grid.name if hh.grid_id else "",
            head.name if head else "", head.id_masked if head else "", head.phone_masked if head else "",
            getattr(hh, "member_count", 0), getattr(hh, "care_count", 0), str(hh.get_status_display()),
        ]  # fmt: skip

    rows = map(row, queryset.iterator(chunk_size=2000))
    return write_xlsx(_("Households"), columns, rows, max_rows=EXPORT_MAX_ROWS)


def persons_xlsx(queryset: Any) -> Ledger:
    columns = [
        Column(_("Name"), 12), Column(_("Document type")), Column(_("Document number"), 22, text=True),
        Column(_("Sex")), Column(_("Birth date")), Column(_("Age")), Column(_("Phone"), text=True),
        Column(_("Community")), Column(_("Grid")), Column(_("Address"), 36), Column(_("Care tags")),
    ]  # fmt: skip

    def row(p: Any) -> list[Any]:
        homes = getattr(p, "current_residencies", [])
        return [
            p.name, str(p.get_id_type_display()), p.id_masked, str(p.get_sex_display()),
            p.birth_date.isoformat() if p.birth_date else "", p.age, p.phone_masked,
            p.community.name if p.community_id else "", p.grid.name if p.grid_id else "",
            homes[0].household.address if homes else "",
            "、".join(str(t.get_kind_display()) for t in p.care_tags.all()),
        ]  # fmt: skip

    rows = map(row, queryset.iterator(chunk_size=2000))
    return write_xlsx(_("Persons"), columns, rows, max_rows=EXPORT_MAX_ROWS)
