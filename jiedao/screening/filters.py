"""The key-person ledger's filters, shared by the page, its Excel export and the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from jiedao.registry.filters import _int, masked_query, person_lookup_q
from jiedao.screening.choices import OPEN_STATUSES, VERIFIED_STATUSES, KeyPersonStatus, Source
from jiedao.screening.models import KeyPerson, PushedEntry

KEY_PERSON_SORTS = {
    "due": "due_at",
    "name": "person__name",
    "received": "received_at",
    "status": "status",
    "verified": "verified_at",
}
# The ledger opens on the newest pushes (today's people first); the dispatch queue on the deadline.
LEDGER_SORT = "-received"
STATUS_GROUPS = {"open": OPEN_STATUSES, "verified": VERIFIED_STATUSES}


@dataclass
class KeyPersonFilters:
    q: str = ""
    status: str = ""
    category: str = ""
    source: str = ""
    community: int | None = None
    grid: int | None = None
    pushed_list: int | None = None
    overdue: bool = False
    review: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> KeyPersonFilters:
        status = str(params.get("status") or "")
        source = str(params.get("source") or "")
        yes = ("1", "true", "on", "yes")
        return cls(
            q=str(params.get("q") or "").strip()[:100],
            status=status if status in KeyPersonStatus.values or status in STATUS_GROUPS else "",
            category=str(params.get("category") or "").strip()[:64],
            source=source if source in Source.values else "",
            community=_int(params.get("community")),
            grid=_int(params.get("grid")),
            pushed_list=_int(params.get("list")),
            overdue=str(params.get("overdue") or "").lower() in yes,
            review=str(params.get("review") or "").lower() in yes,
        )

    @property
    def default_sort(self) -> str:
        """Newest pushes first; the overdue view by deadline (most overdue first), which the
        (status, due_at) index serves without sorting every overdue person."""
        return "due" if self.overdue else LEDGER_SORT

    def as_params(self) -> dict[str, Any]:
        """The filters in force, for links and the export's audit entry (an ID or phone searched for is
        kept masked: the audit log is forever)."""
        out = {k: v for k, v in self.__dict__.items() if v not in (None, "", False)}
        if "q" in out:
            out["q"] = masked_query(out["q"])
        if "pushed_list" in out:
            out["list"] = out.pop("pushed_list")
        return out

    def apply(self, qs: QuerySet[KeyPerson]) -> QuerySet[KeyPerson]:
        if self.status in STATUS_GROUPS:
            qs = qs.filter(status__in=STATUS_GROUPS[self.status])
        elif self.status:
            qs = qs.filter(status=self.status)
        if self.category:
            qs = qs.filter(Q(category=self.category) | Q(classified_category=self.category))
        if self.community:
            qs = qs.filter(community_id=self.community)
        if self.grid:
            qs = qs.filter(grid_id=self.grid)
        if self.overdue:
            qs = qs.filter(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        if self.review:
            qs = qs.exclude(candidates=[])
        if self.source or self.pushed_list:
            entries = PushedEntry.objects.filter(key_person=OuterRef("pk"))
            if self.source:
                entries = entries.filter(pushed_list__source=self.source)
            if self.pushed_list:
                entries = entries.filter(pushed_list_id=self.pushed_list)
            qs = qs.filter(Exists(entries))
        if self.q:
            qs = qs.filter(person_lookup_q(self.q))
        return qs
