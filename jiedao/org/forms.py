"""Forms of the organisation pages: input translation only; the rules live in org/actions.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.core import throttle
from jiedao.org.choices import SUBDISTRICT_ONLY_ROLES, ApiPermission, Role, UnitLevel
from jiedao.org.models import Community, Grid, Subdistrict, User
from jiedao.org.queries import manageable_units, manager_scope, staff_choices_for_groups

Unit = tuple[str, Subdistrict | None, Community | None, Grid | None]


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _(
            "Wrong username or password. Check both and try again; the password is case-sensitive."
        ),
        "inactive": _("This account has been deactivated. Ask your community office or the command centre."),
        "throttled": _(
            "Too many wrong passwords for this account from here. Wait %(minutes)s minutes, or ask your "
            "community office to reset the password."
        ),
    }
    username = forms.CharField(
        label=_("Username"),
        widget=forms.TextInput(
            attrs={"autofocus": True, "class": "form-control", "autocomplete": "username"}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "current-password"}),
    )

    def _throttle_key(self) -> str:
        username = (self.cleaned_data.get("username") or "").strip().lower()
        address = self.request.META.get("REMOTE_ADDR", "") if self.request is not None else ""
        return f"login-failures:{username}:{address}"

    def clean(self) -> dict[str, Any]:
        # Guessing passwords: after LOGIN_MAX_FAILURES wrong ones for a username from one address, every
        # attempt is refused until the window passes, even a right one (so guessing learns nothing).
        key = self._throttle_key()
        if throttle.too_many(key, settings.LOGIN_MAX_FAILURES):
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": max(1, settings.LOGIN_FAILURE_WINDOW // 60)},
            )
        try:
            cleaned = self._explain_refusal()
        except forms.ValidationError:
            throttle.record_failure(key, settings.LOGIN_FAILURE_WINDOW)
            raise
        throttle.reset(key)
        return cleaned

    def _explain_refusal(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            # The auth backend refuses inactive accounts as if the password were wrong. Someone who knows
            # the right password deserves to hear why they cannot get in.
            user = get_user_model().objects.filter(username=self.cleaned_data.get("username")).first()
            password = self.cleaned_data.get("password") or ""
            if user is not None and not user.is_active and user.check_password(password):
                raise forms.ValidationError(self.error_messages["inactive"], code="inactive")
            raise


# ---- shared fields ---------------------------------------------------------------------------------


def _unit_value(level: str, pk: int) -> str:
    return f"{level}:{pk}"


class UnitField(forms.CharField):
    """One select for subdistrict / community / grid, offered as groups. Any existing unit is accepted
    here; whether the manager may use it is the action's decision (so the answer is 403/404, not a
    silently shortened list)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Unit"))
        kwargs.setdefault("widget", forms.Select(attrs={"class": "form-select"}))
        super().__init__(**kwargs)

    def offer(self, user: Any) -> None:
        subdistricts, communities, grids = manageable_units(user)
        groups: list[tuple[Any, Any]] = [("", _("Choose a unit"))]
        if subdistricts:
            groups.append(
                (_("Subdistrict"), [(_unit_value(UnitLevel.SUBDISTRICT, s.pk), s.name) for s in subdistricts])
            )
        if communities:
            groups.append(
                (_("Community"), [(_unit_value(UnitLevel.COMMUNITY, c.pk), c.name) for c in communities])
            )
        if grids:
            groups.append((_("Grid"), [(_unit_value(UnitLevel.GRID, g.pk), str(g)) for g in grids]))
        self.widget.choices = groups  # type: ignore[attr-defined]

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text:
            return None
        level, _sep, raw_pk = str(text).partition(":")
        model = {
            UnitLevel.SUBDISTRICT: Subdistrict,
            UnitLevel.COMMUNITY: Community,
            UnitLevel.GRID: Grid,
        }.get(
            level  # type: ignore[call-overload]
        )
        obj = None
        if model is not None and raw_pk.isdigit():
            obj = model.objects.filter(pk=int(raw_pk)).first()
        if obj is None:
            raise forms.ValidationError(_("Choose a unit from the list."), code="invalid_unit")
        return (
            level,
            obj if level == UnitLevel.SUBDISTRICT else None,
            obj if level == UnitLevel.COMMUNITY else None,
            obj if level == UnitLevel.GRID else None,
        )


def _role_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Role"), choices=[("", _("Choose a role")), *Role.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip


def _offer_roles(field: forms.Field, user: Any) -> None:
    """A community manager is not offered the roles only the command centre may grant."""
    roles = Role.choices
    if not manager_scope(user).everything:
        roles = [(v, label) for v, label in roles if v not in SUBDISTRICT_ONLY_ROLES]
    field.widget.choices = [("", _("Choose a role")), *roles]  # type: ignore[attr-defined]


def _text(label: Any, *, required: bool = True, max_length: int = 100, **attrs: Any) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, max_length=max_length,
        widget=forms.TextInput(attrs={"class": "form-control", **attrs}),
    )  # fmt: skip


def _reason() -> forms.CharField:
    return forms.CharField(
        label=_("Reason"), required=False, max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("Optional: kept in the audit log")}),
    )  # fmt: skip


def _password(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label, strip=False, max_length=128,
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "new-password"}),
    )  # fmt: skip


class _PasswordPair(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


# ---- staff ---------------------------------------------------------------------------------------


class StaffFilterForm(forms.Form):
    q = _text(_("Name or username"), required=False, placeholder=_("Name or username"), type="search")
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip
    community = forms.TypedChoiceField(
        label=_("Community"), required=False, coerce=int, empty_value=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip
    active = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("All statuses")), ("yes", _("Active")), ("no", _("Deactivated"))],
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _s, communities, _g = manageable_units(user)
        field: Any = self.fields["community"]
        field.choices = [("", _("All communities")), *((c.pk, c.name) for c in communities)]

    def filters(self) -> dict[str, Any]:
        """The cleaned filters; a value that does not validate is dropped rather than failing the list."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v not in ("", None)}


class StaffCreateForm(_PasswordPair):
    username = _text(_("Username"), max_length=150, autocomplete="off")
    display_name = _text(_("Display name"))
    work_phone = _text(_("Work phone"), required=False, max_length=20, inputmode="tel")
    password = _password(_("Initial password"))
    password2 = _password(_("Initial password again"))
    role = _role_field()
    unit = UnitField()

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer_roles(self.fields["role"], user)
        self.fields["unit"].offer(user)  # type: ignore[attr-defined]


class RoleAddForm(forms.Form):
    role = _role_field()
    unit = UnitField()
    reason = _reason()

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer_roles(self.fields["role"], user)
        self.fields["unit"].offer(user)  # type: ignore[attr-defined]


class ReasonForm(forms.Form):
    reason = _reason()


class PasswordResetForm(_PasswordPair):
    password = _password(_("New password"))
    password2 = _password(_("New password again"))
    reason = _reason()


# ---- API keys --------------------------------------------------------------------------------------


class ApiKeyForm(forms.Form):
    name = _text(_("Name"), placeholder=_("Which system uses it, e.g. city health-code platform"))
    role = _role_field()
    unit = UnitField()
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"), choices=ApiPermission.choices, widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    expires_on = forms.DateField(
        label=_("Expires on"), required=False,
        help_text=_("The key stops working at the end of this day. Leave empty for no expiry."),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
    )  # fmt: skip

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].offer(user)  # type: ignore[attr-defined]

    def expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires_on")
        if not day:
            return None
        return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


# ---- working groups -------------------------------------------------------------------------------


class WorkingGroupForm(forms.Form):
    name = _text(_("Name"))
    position = forms.IntegerField(
        label=_("Position in the list"), min_value=0, max_value=999, initial=0,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )  # fmt: skip
    duties = forms.CharField(
        label=_("Duties"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 6}),
    )  # fmt: skip
    lead = forms.ModelChoiceField(
        label=_("Lead"), required=False, queryset=User.objects.none(), empty_label=_("No lead yet"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip
    members = forms.ModelMultipleChoiceField(
        label=_("Members"), required=False, queryset=User.objects.none(),
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 8}),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        staff = staff_choices_for_groups().order_by("display_name", "username")
        self.fields["lead"].queryset = staff  # type: ignore[attr-defined]
        self.fields["members"].queryset = staff  # type: ignore[attr-defined]
