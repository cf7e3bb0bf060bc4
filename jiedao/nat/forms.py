"""Site staff's status form (input translation only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import TablerForm
from jiedao.nat.actions import MAX_QUEUE
from jiedao.nat.choices import Industry, RoundKind, SiteStatus
from jiedao.nat.models import SamplingSite
from jiedao.org.models import Community


class SiteStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=SiteStatus.choices)
    queue_length = forms.IntegerField(label=_("People waiting"), min_value=0, max_value=MAX_QUEUE)


class SiteForm(TablerForm):
    """A sampling site; the action judges the values."""

    name = forms.CharField(
        label=_("Name"), max_length=100, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    community = forms.ModelChoiceField(
        label=_("Community"),
        queryset=Community.objects.none(),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    hours = forms.CharField(
        label=_("Opening hours"), required=False, max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "07:00-12:00, 14:00-20:00"}),
    )  # fmt: skip
    lanes = forms.IntegerField(
        label=_("Lanes"),
        min_value=1,
        max_value=50,
        initial=2,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )
    lat = forms.FloatField(
        label=_("Latitude"),
        required=False,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
    )
    lng = forms.FloatField(
        label=_("Longitude"),
        required=False,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
    )

    staff = forms.ModelMultipleChoiceField(
        label=_("Samplers on this site"), required=False, queryset=get_user_model().objects.none(),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )  # fmt: skip

    def __init__(self, *args: Any, communities: Any = None, samplers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = (  # type: ignore[attr-defined]
            communities if communities is not None else Community.objects.all()
        )  # type: ignore[attr-defined]
        if samplers is not None:
            self.fields["staff"].queryset = samplers  # type: ignore[attr-defined]
            self.fields["staff"].label_from_instance = lambda u: u.get_full_name() or u.username  # type: ignore[attr-defined]


class RoundForm(TablerForm):
    name = forms.CharField(
        label=_("Name"), max_length=100, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=RoundKind.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    starts_at = forms.DateTimeField(
        label=_("starts"), input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    ends_at = forms.DateTimeField(
        label=_("ends"), input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    communities = forms.ModelMultipleChoiceField(
        label=_("Communities (none: the whole subdistrict)"), required=False, queryset=Community.objects.all(),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )  # fmt: skip
    sites = forms.ModelMultipleChoiceField(
        label=_("Sites that sample for it"), required=False, queryset=SamplingSite.objects.exclude(status=SiteStatus.CLOSED),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )  # fmt: skip


class GroupForm(TablerForm):
    """A key-industry group; the action judges the values."""

    name = forms.CharField(
        label=_("Name"), max_length=100, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    industry = forms.ChoiceField(
        label=_("Industry"), choices=Industry.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    frequency_days = forms.IntegerField(
        label=_("Test every (days)"), min_value=1, max_value=90, initial=7,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )  # fmt: skip
    spot_check_percent = forms.IntegerField(
        label=_("Spot-check share (%)"), min_value=1, max_value=100, initial=100,
        help_text=_("100: every member each period; less: that share, drawn afresh each period."),
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )  # fmt: skip
    community = forms.ModelChoiceField(
        label=_("Community"), required=False, queryset=Community.objects.none(), empty_label=_("Whole subdistrict"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args: Any, communities: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities  # type: ignore[attr-defined]
