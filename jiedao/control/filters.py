"""The case ledger's filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from jiedao.control.choices import OPEN_STATUSES, CaseStatus
from jiedao.control.models import ControlCase
from jiedao.protocols.choices import MeasureType
from jiedao.registry.filters import _int, person_lookup_q

CASE_SORTS = {"end": "end_date", "start": "start_date", "name": "person__name", "status": "status"}


@dataclass
class CaseFilters:
    q: str = ""
    status: str = ""
    measure: str = ""
    community: int | None = None
    grid: int | None = None
    past_end: bool = False
    day: int | None = None  # day N of the measure (day 1 = the first day)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CaseFilters:
        status = str(params.get("status") or "")
        measure = str(params.get("measure") or "")
        return cls(
            q=str(params.get("q") or "").strip()[:100],
            status=status if status in CaseStatus.values or status == "open" else "",
            measure=measure if measure in MeasureType.values else "",
            community=_int(params.get("community")),
            grid=_int(params.get("grid")),
            past_end=str(params.get("past_end") or "") in ("1", "true", "on"),
            day=day if (day := _int(params.get("day"))) and 1 <= day <= 400 else None,
        )

    def as_params(self) -> dict[str, Any]:
        from jiedao.registry.filters import masked_query

        out = {k: v for k, v in self.__dict__.items() if v not in (None, "", False)}
        if "q" in out:
            out["q"] = masked_query(out["q"])
        return out

    def apply(self, qs: QuerySet[ControlCase]) -> QuerySet[ControlCase]:
        if self.status == "open":
            qs = qs.filter(status__in=OPEN_STATUSES)
        elif self.status:
            qs = qs.filter(status=self.status)
        if self.measure:
            qs = qs.filter(measure_type=self.measure)
        if self.community:
            qs = qs.filter(community_id=self.community)
        if self.grid:
            qs = qs.filter(grid_id=self.grid)
        if self.past_end:
            qs = qs.filter(status__in=OPEN_STATUSES, end_date__lt=timezone.localdate())
        if self.day:
            start = timezone.localdate() - dt.timedelta(days=self.day - 1)
            qs = qs.filter(status__in=(CaseStatus.ACTIVE, CaseStatus.MONITORING), start_date=start)
        if self.q:
            qs = qs.filter(person_lookup_q(self.q))
        return qs
