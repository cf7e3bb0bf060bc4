"""Form pieces every app's pages share: Tabler error styling, an action's refusal shown on its field, and
the base of the list filter sets (one form serves the HTML list, its Excel export and the API)."""

from __future__ import annotations

from typing import Any

from django import forms

from jiedao.core.errors import InvalidInput, JiedaoError


class TablerForm(forms.Form):
    """Marks fields with errors `is-invalid`, so Tabler draws them red next to their message."""

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                classes = widget.attrs.get("class", "")
                if "is-invalid" not in classes:
                    widget.attrs["class"] = f"{classes} is-invalid".strip()


def attach_error(form: forms.Form, exc: JiedaoError, renamed: dict[str, str] | None = None) -> None:
    """Show an action's refusal beside the field it names (`renamed` maps an action's argument to the
    form field that carries it), or above the form when no field matches."""
    field = (renamed or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


class FilterForm(forms.Form):
    """Base of a list's filter set: subclasses declare the fields and `apply(qs)`."""

    def raise_first_error(self) -> None:
        """For the API: the first problem as InvalidInput naming its field."""
        if self.is_valid():
            return
        name, errors = next(iter(self.errors.items()))
        raise InvalidInput(f"{name}: {errors[0]}", field=name)

    def as_params(self) -> dict[str, Any]:
        """The filters in force (chosen rows by primary key), for the export's audit entry."""
        if not self.is_valid():
            return {}
        return {
            k: (v.pk if hasattr(v, "pk") else v)
            for k, v in self.cleaned_data.items()
            if v not in (None, "", False)
        }
