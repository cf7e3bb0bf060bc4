"""Forms of the register: input translation only; the rules live in actions.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.org.models import Community, Grid
from jiedao.registry.choices import CareTagKind, HouseholdStatus, IdType, Relation, Sex
from jiedao.registry.queries import EDIT_ROLES, IMPORT_ROLES, communities_for, grids_for, role_scope

_INPUT = {"class": "form-control"}
_SELECT = {"class": "form-select"}


def _date() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


class ScopedUnitsMixin:
    """Community and grid choices limited to where the user may edit."""

    roles: tuple[str, ...] = EDIT_ROLES

    def limit_units(self, user: Any) -> None:
        fields: Any = self.fields  # type: ignore[attr-defined]
        if "community" in fields:
            fields["community"].queryset = communities_for(user, self.roles)
        if "grid" in fields:
            fields["grid"].queryset = grids_for(user, self.roles)


class IdentityFields(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, widget=forms.TextInput(attrs=_INPUT))
    id_type = forms.ChoiceField(
        label=_("Document type"), choices=IdType.choices, initial=IdType.RESIDENT_ID,
        widget=forms.Select(attrs=_SELECT),
    )  # fmt: skip
    id_number = forms.CharField(
        label=_("Document number"), max_length=40, required=False,
        widget=forms.TextInput(attrs={**_INPUT, "autocomplete": "off", "inputmode": "text", "class": "form-control jd-masked"}),
    )  # fmt: skip
    phone = forms.CharField(
        label=_("Mobile phone"), max_length=20, required=False,
        widget=forms.TextInput(attrs={**_INPUT, "inputmode": "tel", "autocomplete": "off"}),
    )  # fmt: skip
    sex = forms.ChoiceField(
        label=_("Sex"), choices=[("", "—"), *Sex.choices], required=False, widget=forms.Select(attrs=_SELECT),
        help_text=_("Only for documents other than a resident ID (the ID says it)."),
    )  # fmt: skip
    birth_date = forms.DateField(
        label=_("Birth date"), required=False, widget=_date(),
        help_text=_("Only for documents other than a resident ID."),
    )  # fmt: skip


class HouseholdForm(ScopedUnitsMixin, forms.Form):
    """A new household at a flat (the flat's path is created as needed), optionally with its head."""

    community: forms.ModelChoiceField[Community] = forms.ModelChoiceField(
        label=_("Community"), queryset=Community.objects.none(), widget=forms.Select(attrs=_SELECT)
    )
    grid: forms.ModelChoiceField[Grid] = forms.ModelChoiceField(
        label=_("Grid"), queryset=Grid.objects.none(), required=False, widget=forms.Select(attrs=_SELECT)
    )
    compound = forms.CharField(
        label=_("Compound"), max_length=100, widget=forms.TextInput(attrs={**_INPUT, "list": "jd-compounds"})
    )
    building = forms.CharField(label=_("Building"), max_length=20, widget=forms.TextInput(attrs=_INPUT))
    entrance = forms.CharField(
        label=_("Entrance"), max_length=20, required=False, initial="1", widget=forms.TextInput(attrs=_INPUT)
    )
    flat = forms.CharField(
        label=_("Flat"), max_length=20, widget=forms.TextInput(attrs={**_INPUT, "inputmode": "numeric"})
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=HouseholdStatus.choices, initial=HouseholdStatus.LIVING,
        widget=forms.Select(attrs=_SELECT),
    )  # fmt: skip
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={**_INPUT, "rows": 2})
    )
    head_name = forms.CharField(
        label=_("Head of household"), max_length=100, required=False, widget=forms.TextInput(attrs=_INPUT)
    )
    head_id_number = forms.CharField(
        label=_("Head's resident ID"), max_length=40, required=False,
        widget=forms.TextInput(attrs={**_INPUT, "autocomplete": "off", "class": "form-control jd-masked"}),
    )  # fmt: skip
    head_phone = forms.CharField(
        label=_("Head's mobile phone"), max_length=20, required=False,
        widget=forms.TextInput(attrs={**_INPUT, "inputmode": "tel", "autocomplete": "off"}),
    )  # fmt: skip

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_units(user)
        scope = role_scope(user, EDIT_ROLES)
        if not scope.everything and not scope.community_ids:
            self.fields["grid"].required = True  # a grid worker's households live in their grid

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("head_name") and not data.get("head_id_number"):
            self.add_error(
                "head_id_number", _("Enter the head's resident ID, or leave the head's name empty.")
            )
        if data.get("head_id_number") and not data.get("head_name"):
            self.add_error("head_name", _("Enter the head's name."))
        return data


class ResidentForm(IdentityFields):
    relation = forms.ChoiceField(
        label=_("Relation to the head"), choices=Relation.choices, initial=Relation.OTHER,
        widget=forms.Select(attrs=_SELECT),
    )  # fmt: skip
    moved_in = forms.DateField(label=_("Moved in"), required=False, widget=_date())
    care_tags = forms.MultipleChoiceField(
        label=_("Care tags"), choices=CareTagKind.choices, required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )  # fmt: skip


class PersonForm(IdentityFields):
    """Edit a person: leave the document number or phone empty to keep the stored one."""

    clear_phone = forms.BooleanField(label=_("Remove the phone number"), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={**_INPUT, "rows": 3})
    )
    reason = forms.CharField(
        label=_("Reason for the change"), max_length=200, required=False, widget=forms.TextInput(attrs=_INPUT)
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["id_number"].help_text = _("Leave empty to keep the current number.")
        self.fields["phone"].help_text = _("Leave empty to keep the current number.")


class CareTagsForm(forms.Form):
    care_tags = forms.MultipleChoiceField(
        label=_("Care tags"), choices=CareTagKind.choices, required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )  # fmt: skip
    reason = forms.CharField(
        label=_("Reason"), max_length=200, required=False, widget=forms.TextInput(attrs=_INPUT)
    )


class UnmaskForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        widget=forms.TextInput(attrs={**_INPUT, "placeholder": _("e.g. verifying identity for home sampling")}),
    )  # fmt: skip


class MoveOutForm(forms.Form):
    moved_out = forms.DateField(label=_("Moved out"), required=False, widget=_date())
    reason = forms.CharField(
        label=_("Reason"), max_length=200, required=False, widget=forms.TextInput(attrs=_INPUT)
    )


class ImportUploadForm(ScopedUnitsMixin, forms.Form):
    roles = IMPORT_ROLES
    community: forms.ModelChoiceField[Community] = forms.ModelChoiceField(
        label=_("Community"), queryset=Community.objects.none(), widget=forms.Select(attrs=_SELECT)
    )
    file = forms.FileField(
        label=_("Spreadsheet (.xlsx, .xls or .csv)"),
        widget=forms.ClearableFileInput(attrs={**_INPUT, "accept": ".xlsx,.xls,.csv"}),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_units(user)
