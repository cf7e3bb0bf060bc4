"""Control's section of the person page and its dashboard cards (registered from ControlConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.control.choices import OPEN_STATUSES, OPEN_SUPPLY_STATUSES, CaseStatus
from jiedao.control.queries import (
    ATTENTION_ROLES,
    READ_ROLES,
    SUPPLY_ROLES,
    attention_checkins,
    cases_visible_to,
    supplies_visible_to,
    waiting_for_a_case,
)
from jiedao.core import dashboard
from jiedao.core.dashboard import Card
from jiedao.registry.sections import register_household_section, register_person_section


def _person_section(request: HttpRequest, person: Any) -> dict[str, Any] | None:
    cases = list(cases_visible_to(request.user).filter(person=person).order_by("-start_date", "-pk")[:10])
    if not cases:
        return None
    return {"template": "control/_cases_section.html", "cases": cases, "today": timezone.localdate()}


def _household_section(request: HttpRequest, household: Any) -> dict[str, Any] | None:
    members = household.residents.filter(moved_out__isnull=True).values_list("person_id", flat=True)
    cases = list(
        cases_visible_to(request.user).filter(person_id__in=list(members)).order_by("-start_date")[:20]
    )
    if not cases:
        return None
    return {"template": "control/_cases_section.html", "cases": cases, "today": timezone.localdate()}


def control_cards(user: Any) -> list[Card]:
    if not user.is_authenticated or not user.has_role(*READ_ROLES):
        return []
    today = timezone.localdate()
    c = cases_visible_to(user).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        pending=Count("pk", filter=Q(status=CaseStatus.PENDING)),
        past_end=Count("pk", filter=Q(status__in=OPEN_STATUSES, end_date__lt=today)),
    )
    url = reverse("control:cases")
    cards = [
        Card(_("Under control"), c["open"], f"{url}?status=open", note=_("open control cases")),
        Card(
            _("Past their end date"),
            c["past_end"],
            f"{url}?past_end=1",
            note=_("release or extend now"),
            tone="danger" if c["past_end"] else "success",
        ),
    ]
    if user.has_role(*ATTENTION_ROLES):
        follow = attention_checkins(user).filter(temperature__isnull=True).count()
        abnormal = attention_checkins(user).filter(abnormal=True).count()
        cards.append(
            Card(_("Check-ins to follow up"), follow + abnormal, reverse("control:attention"),
                 note=_("%(m)s missed, %(a)s fever or symptoms (48 h)") % {"m": follow, "a": abnormal},
                 tone="danger" if abnormal else ("warning" if follow else "success"))
        )  # fmt: skip
    supplies = (
        supplies_visible_to(user)
        .filter(status__in=OPEN_SUPPLY_STATUSES)
        .aggregate(n=Count("pk"), urgent=Count("pk", filter=Q(urgent=True)))
    )
    if user.has_role(*SUPPLY_ROLES):
        cards.append(
            Card(_("Supply requests"), supplies["n"], reverse("control:supplies"),
                 note=_("%(n)s urgent") % {"n": supplies["urgent"]},
                 tone="danger" if supplies["urgent"] else ("warning" if supplies["n"] else ""))
        )  # fmt: skip
    waiting = waiting_for_a_case(user).count()
    if user.has_role("command", "community_staff"):
        cards.insert(1, Card(_("Waiting for a case"), waiting, reverse("control:to_open"),
                             note=_("verified, not yet under control"), tone="warning" if waiting else ""))  # fmt: skip
    return cards


def register() -> None:
    register_person_section("control.cases", gettext_lazy("Control"), 30, _person_section, roles=READ_ROLES)
    register_household_section(
        "control.cases", gettext_lazy("Control cases"), 30, _household_section, roles=READ_ROLES
    )
    dashboard.register(30)(control_cards)
    from jiedao.control.today import render_my_cases
    from jiedao.work.sections import register_today_section

    register_today_section("control.my_cases", gettext_lazy("People in my care"), 5, render_my_cases)
    from jiedao.work.sections import register_subject_driven

    register_subject_driven("control.supply")  # delivered or held on the request's page
