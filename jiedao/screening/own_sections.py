"""Screening's sections of the person page and the household file, and its dashboard cards; registered
from `ScreeningConfig.ready()`."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core import dashboard
from jiedao.core.dashboard import Card, Panel
from jiedao.org.models import Community, Grid
from jiedao.registry.sections import register_household_section, register_person_section
from jiedao.screening.choices import OPEN_STATUSES, REOPENABLE, KeyPersonStatus
from jiedao.screening.exports import category_label
from jiedao.screening.queries import READ_ROLES, key_persons_visible_to, labelled, sources_of


def _person_section(request: HttpRequest, person: Any) -> dict[str, Any] | None:
    kp = key_persons_visible_to(request.user).filter(person=person).first()
    if kp is None:
        return None
    return {
        "template": "screening/_person_section.html",
        "kp": kp,
        "category": category_label(kp.protocol_key, kp.category),
        "sources": labelled(sources_of(kp)[:20]),
        "now": timezone.now(),
    }


def _household_section(request: HttpRequest, household: Any) -> dict[str, Any] | None:
    members = household.residents.filter(moved_out__isnull=True).values_list("person_id", flat=True)
    kps = list(key_persons_visible_to(request.user).filter(person_id__in=list(members)))
    if not kps:
        return None
    rows = [(kp, category_label(kp.protocol_key, kp.category)) for kp in kps]
    return {"template": "screening/_household_section.html", "rows": rows, "now": timezone.now()}


def screening_cards(user: Any) -> list[Card]:
    qs = key_persons_visible_to(user)
    if not user.is_authenticated or not user.has_role(*READ_ROLES):
        return []
    now = timezone.now()
    c = qs.aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        overdue=Count("pk", filter=Q(status__in=OPEN_STATUSES, due_at__lt=now)),
        dispatch=Count("pk", filter=Q(status=KeyPersonStatus.DISPATCH)),
        classified=Count("pk", filter=Q(status=KeyPersonStatus.CLASSIFIED)),
    )
    url = reverse("screening:key_persons")
    cards = [
        Card(_("Key persons to verify"), c["open"], f"{url}?status=open", note=_("pushed, not yet verified")),
        Card(
            _("Verification overdue"),
            c["overdue"],
            f"{url}?overdue=1",
            note=_("past the protocol's deadline"),
            tone="danger" if c["overdue"] else "success",
        ),
        Card(
            _("Classified for control"),
            c["classified"],
            f"{url}?status=classified",
            note=_("verified, measure proposed"),
        ),
    ]
    if user.scope.everything:
        cards.insert(
            1,
            Card(
                _("Dispatch queue"),
                c["dispatch"],
                reverse("screening:dispatch"),
                note=_("no community found yet"),
                tone="warning" if c["dispatch"] else "",
            ),
        )
    return cards


def screening_panel(user: Any) -> list[Panel]:
    """Key persons per community (or per grid inside one community) by where they stand: on time,
    overdue, classified, other verified — the command centre sees at a glance who is behind."""
    if not user.is_authenticated or not user.has_role(*READ_ROLES):
        return []
    qs = key_persons_visible_to(user)
    communities = list(Community.objects.visible_to(user).order_by("code"))
    by_grid = len(communities) <= 1
    key = "grid_id" if by_grid else "community_id"
    units = list(Grid.objects.visible_to(user).order_by("code")) if by_grid else communities
    now = timezone.now()
    rows = {
        r[key]: r
        for r in qs.values(key).annotate(
            on_time=Count("pk", filter=Q(status=KeyPersonStatus.TO_VERIFY, due_at__gte=now)),
            overdue=Count("pk", filter=Q(status__in=OPEN_STATUSES, due_at__lt=now)),
            classified=Count("pk", filter=Q(status=KeyPersonStatus.CLASSIFIED)),
            closed=Count("pk", filter=Q(status__in=REOPENABLE)),
        )
    }
    if not rows:
        return []
    names = [u.name for u in units]
    series = []
    for field, label, colour in (
        ("overdue", _("Overdue"), "#d63939"),
        ("on_time", _("To verify"), "#206bc4"),
        ("classified", _("Classified for control"), "#ae3ec9"),
        ("closed", _("Verified: no measure, elsewhere or wrong person"), "#2fb344"),
    ):
        series.append(
            {"name": str(label), "color": colour, "data": [rows.get(u.pk, {}).get(field, 0) for u in units]}
        )
    return [
        Panel(
            _("Key persons by grid") if by_grid else _("Key persons by community"),
            "screening/_panel.html",
            {"names": names, "series": series, "url": reverse("screening:key_persons")},
        )
    ]


def register() -> None:
    register_person_section(
        "screening.key_person", gettext_lazy("Screening"), 20, _person_section, roles=READ_ROLES
    )
    register_household_section("screening.key_persons", gettext_lazy("Key persons"), 20, _household_section,
                               roles=READ_ROLES)  # fmt: skip
    dashboard.register(20)(screening_cards)
    dashboard.register_panel(20)(screening_panel)
