"""Input translation for control's pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import TablerForm


class BasisForm(TablerForm):
    basis = forms.CharField(
        label=_("Basis"), max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("e.g. arrived at the quarantine hotel, room 512")}),
    )  # fmt: skip


class MeasureForm(BasisForm):
    category = forms.ChoiceField(label=_("New category"), widget=forms.Select(attrs={"class": "form-select"}))
    start = forms.DateField(
        label=_("Day 1"), required=False,
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}, format="%Y-%m-%d"),
    )  # fmt: skip

    def __init__(self, *args: Any, choices: list[tuple[str, str]] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = choices  # type: ignore[attr-defined]
