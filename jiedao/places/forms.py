"""Input for place pages: translation only. Rules live in actions.py, which the views call."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import TablerForm
from jiedao.org.models import Community, Grid
from jiedao.places.choices import PlaceKind
from jiedao.places.models import Place
from jiedao.places.queries import editable_communities, editable_grids

_TEXT = {"class": "form-control"}
_SELECT = {"class": "form-select"}


class PlaceForm(TablerForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=PlaceKind.choices, widget=forms.Select(attrs=_SELECT))
    name = forms.CharField(label=_("Place name"), max_length=200, widget=forms.TextInput(attrs=_TEXT))
    address = forms.CharField(
        label=_("Address"), max_length=200, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    community = forms.ModelChoiceField(
        label=_("Community"), queryset=Community.objects.none(), widget=forms.Select(attrs=_SELECT)
    )
    grid = forms.ModelChoiceField(
        label=_("Grid"),
        queryset=Grid.objects.none(),
        required=False,
        empty_label=_("No grid"),
        widget=forms.Select(attrs=_SELECT),
    )
    contact_name = forms.CharField(
        label=_("Contact"), max_length=50, required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    contact_phone = forms.CharField(
        label=_("Contact phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={**_TEXT, "inputmode": "tel", "autocomplete": "off"}),
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=30,
        required=False,
        help_text=_("18 characters; leave empty if the place has none."),
        widget=forms.TextInput(attrs={**_TEXT, "autocapitalize": "characters"}),
    )

    def __init__(self, *args: Any, user: Any, place: Place | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.place = place
        communities = editable_communities(user)
        grids = editable_grids(user)
        self.fields["community"].queryset = communities.order_by("code")  # type: ignore[attr-defined]
        self.fields["grid"].queryset = grids.order_by("code")  # type: ignore[attr-defined]
        self.fields["grid"].label_from_instance = lambda g: f"{g.community.name} · {g.name}"  # type: ignore[attr-defined]
        if place is not None and place.contact_phone_masked:
            # The number is never put back into the page: an empty field keeps it.
            self.fields["contact_phone"].help_text = _(
                "Now %(masked)s. Leave empty to keep it; type a new number to replace it."
            ) % {"masked": place.contact_phone_masked}
        only = list(communities.order_by("code")[:2])
        if len(only) == 1:
            self.fields["community"].initial = only[0].pk


class ReasonForm(TablerForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.TextInput(attrs={**_TEXT, "autocomplete": "off"}),
    )


class VenueCheckinForm(TablerForm):
    """The public check-in form a venue's QR code opens. Only carries what was typed: the rules (ID
    checksum, Excel damage, phone prefixes) live in actions.do_check_in, whose refusals are attached
    to these fields by name."""

    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=200,  # the action says what is too long; this only stops an absurd paste
        widget=forms.TextInput(attrs={"class": "form-control form-control-lg", "autocomplete": "name"}),
    )
    id_number = forms.CharField(
        label=_("Resident ID number"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "class": "form-control form-control-lg jd-masked",
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "placeholder": _("18 characters"),
            }
        ),
    )
    phone = forms.CharField(
        label=_("Mobile number (optional)"),
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-lg", "inputmode": "tel", "autocomplete": "tel"}
        ),
    )
    remember = forms.BooleanField(
        label=_("Remember me on this phone"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
