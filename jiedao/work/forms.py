"""Input for work pages: translation only. Rules live in actions.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import TablerForm
from jiedao.org.choices import Role

_TEXT = {"class": "form-control"}


class CompleteForm(TablerForm):
    outcome = forms.CharField(
        label=_("Outcome"),
        max_length=2000,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 2, "placeholder": _("What was done or found")}),
    )


class CancelForm(TablerForm):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.TextInput(attrs={**_TEXT, "autocomplete": "off"})
    )


class ReassignForm(TablerForm):
    assignee = forms.TypedChoiceField(
        label=_("Person"), required=False, coerce=int, empty_value=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip
    role = forms.ChoiceField(
        label=_("Role"),
        required=False,
        choices=[("", _("No role")), *Role.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    due_at = forms.DateTimeField(
        label=_("New due time"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={**_TEXT, "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, widget=forms.TextInput(attrs=_TEXT)
    )

    def __init__(self, *args: Any, candidates: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", _("Nobody in particular")), *candidates]  # type: ignore[attr-defined]
