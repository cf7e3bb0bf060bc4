"""Input translation for the quarantine-site and transfer pages. The actions judge the values (name,
capacity, team, plate, pick-up time) so that every refusal reads the same on a page and in the API;
these forms only carry them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.control.choices import SiteStatus
from jiedao.control.models import QuarantineSite
from jiedao.core.forms import TablerForm


class SiteForm(TablerForm):
    name = forms.CharField(
        label=_("Name"), max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )  # fmt: skip
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    phone = forms.CharField(
        label=_("Phone"), required=False, max_length=30,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "tel"}),
    )  # fmt: skip
    capacity = forms.CharField(
        label=_("Capacity (rooms)"), max_length=12,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )  # fmt: skip
    status = forms.ChoiceField(
        label=_("Status"), choices=SiteStatus.choices, initial=SiteStatus.OPEN,
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip


class SiteChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A site with its free places (the queryset carries `occupied` and `incoming`)."""

    def label_from_instance(self, obj: Any) -> str:
        free = obj.capacity - obj.occupied - obj.incoming
        if free <= 0:
            return str(_("%(site)s — full")) % {"site": obj.name}
        return str(_("%(site)s — %(n)s free")) % {"site": obj.name, "n": free}


class PlanTransferForm(TablerForm):
    site = SiteChoiceField(
        label=_("Quarantine site"), queryset=QuarantineSite.objects.none(), empty_label=None,
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": _("Choose one of the sites taking people."),
                        "required": _("Choose a quarantine site.")},
    )  # fmt: skip
    team = forms.CharField(
        label=_("Escort team"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("e.g. Zhang Wei, Li Na (police)")}),
    )  # fmt: skip
    vehicle = forms.CharField(
        label=_("Vehicle plate"), required=False, max_length=30,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "川A·12345", "autocapitalize": "characters"}),
    )  # fmt: skip
    pickup_at = forms.DateTimeField(
        label=_("Pick-up time"), required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"class": "form-control", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": _("Give the pick-up time as a date and a time.")},
    )  # fmt: skip

    def __init__(self, *args: Any, sites: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sites is not None:
            self.fields["site"].queryset = sites  # type: ignore[attr-defined]
