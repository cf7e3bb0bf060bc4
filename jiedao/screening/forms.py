"""Input translation for screening's pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import TablerForm
from jiedao.screening.choices import Outcome, Source

_INPUT = {"class": "form-control"}
_SELECT = {"class": "form-select"}


class ListForm(TablerForm):
    title = forms.CharField(label=_("Title"), max_length=200, widget=forms.TextInput(attrs=_INPUT))
    issuer = forms.CharField(
        label=_("Issuer"),
        max_length=100,
        initial="成都市疫情防控指挥部",
        widget=forms.TextInput(attrs=_INPUT),
    )
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices, widget=forms.Select(attrs=_SELECT))
    category = forms.ChoiceField(
        label=_("Default category"),
        required=False,
        help_text=_("For rows whose category column is empty. Left empty: the source decides."),
        widget=forms.Select(attrs=_SELECT),
    )
    received_at = forms.DateTimeField(
        label=_("Received"),
        required=False,
        widget=forms.DateTimeInput(
            attrs={"class": "form-control", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
        ),
    )
    file = forms.FileField(
        label=_("Spreadsheet (.xlsx, .xls or .csv)"),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".xlsx,.xls,.xlsm,.csv"}),
    )

    def __init__(self, *args: Any, categories: list[tuple[str, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("From the source")), *categories]  # type: ignore[attr-defined]


class VerifyForm(TablerForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect)
    attempts = forms.IntegerField(
        label=_("Calls or visits"), min_value=1, max_value=50, initial=1,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )  # fmt: skip
    where = forms.CharField(
        label=_("Where is the person now"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs=_INPUT),
    )
    current_address = forms.CharField(
        label=_("Current address"), required=False, max_length=200, widget=forms.TextInput(attrs=_INPUT)
    )
    last_exposure = forms.DateField(
        label=_("Last exposure (or arrival) date"),
        required=False,
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}, format="%Y-%m-%d"),
    )
    symptoms = forms.BooleanField(label=_("Fever, cough or other symptoms"), required=False)
    symptom_notes = forms.CharField(
        label=_("Symptoms"), required=False, max_length=200, widget=forms.TextInput(attrs=_INPUT)
    )
    category = forms.CharField(required=False, max_length=64)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={**_INPUT, "rows": 2})
    )


class HandBackForm(TablerForm):
    reason = forms.CharField(
        label=_("Why is this person not yours?"), max_length=500,
        widget=forms.TextInput(attrs={**_INPUT, "placeholder": _("e.g. moved to Zhonghe two years ago")}),
    )  # fmt: skip
