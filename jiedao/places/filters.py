"""The one filter set for place lists: the HTML list, its Excel export and the API all use it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import FilterForm
from jiedao.org.models import Community, Grid
from jiedao.places.choices import PlaceKind
from jiedao.places.models import Place

SORTABLE = {
    "name": "name",
    "kind": "kind",
    "community": "community__code",
    "grid": "grid__code",
    "venue_code": "venue_code",
    "created": "created_at",
}
DEFAULT_SORT = "name"

ACTIVE_CHOICES = [("1", _("Active")), ("0", _("Inactive")), ("all", _("All"))]


class PlaceFilter(FilterForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("Name, address, venue code or credit code"),
                   "type": "search"}
        ),
    )  # fmt: skip
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All kinds")), *PlaceKind.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    community = forms.ModelChoiceField(
        label=_("Community"),
        required=False,
        queryset=Community.objects.none(),
        empty_label=_("All communities"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    grid = forms.ModelChoiceField(
        label=_("Grid"),
        required=False,
        queryset=Grid.objects.none(),
        empty_label=_("All grids"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=ACTIVE_CHOICES,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, data: Mapping[str, Any] | None, *, user: Any) -> None:
        super().__init__(data or {})
        # Only units the user can see are offered (and accepted): no probing other areas by id.
        self.fields["community"].queryset = Community.objects.visible_to(user)  # type: ignore[attr-defined]
        self.fields["grid"].queryset = Grid.objects.visible_to(user).select_related("community")  # type: ignore[attr-defined]
        self.fields["grid"].label_from_instance = lambda g: f"{g.community.name} · {g.name}"  # type: ignore[attr-defined]

    def apply(self, qs: QuerySet[Place]) -> QuerySet[Place]:
        """Filter `qs`; an invalid filter gives an empty list (the form shows why) rather than a wider one."""
        if not self.is_valid():
            return qs.none()
        d = self.cleaned_data
        if d.get("q"):
            text = d["q"].strip()
            cond = Q(name__icontains=text) | Q(address__icontains=text) | Q(contact_name__icontains=text)
            upper = text.upper()
            if upper.isalnum():
                cond |= Q(venue_code=upper) | Q(credit_code=upper)
            qs = qs.filter(cond)
        if d.get("kind"):
            qs = qs.filter(kind=d["kind"])
        if d.get("community"):
            qs = qs.filter(community=d["community"])
        if d.get("grid"):
            qs = qs.filter(grid=d["grid"])
        active = d.get("active") or "1"
        if active != "all":
            qs = qs.filter(active=active == "1")
        return qs
