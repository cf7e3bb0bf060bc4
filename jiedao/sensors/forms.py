"""Input translation for the door-sensor pages (the actions check the rules)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import TablerForm

LOCAL_TIME = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class DeviceForm(TablerForm):
    device_id = forms.CharField(
        label=_("Device ID"), max_length=64,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off", "placeholder": "DS-0001"}),
        help_text=_("As printed on the sensor: letters, digits and . _ : -"),
    )  # fmt: skip
    vendor = forms.CharField(
        label=_("Vendor"), max_length=64, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    model = forms.CharField(
        label=_("Model"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    secret = forms.CharField(
        label=_("Webhook secret"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
        help_text=_("Leave empty to generate one. It is shown once, after saving."),
    )  # fmt: skip


class WindowForm(TablerForm):
    """A window the team grants: local times from the page's date-time inputs."""

    starts_at = forms.DateTimeField(
        label=_("From"), input_formats=LOCAL_TIME,
        error_messages={"required": _("Give the time the window starts."), "invalid": _("Give the start as a date and a time.")},
        widget=forms.DateTimeInput(attrs={"class": "form-control", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    ends_at = forms.DateTimeField(
        label=_("Until"), input_formats=LOCAL_TIME,
        error_messages={"required": _("Give the time the window ends."), "invalid": _("Give the end as a date and a time.")},
        widget=forms.DateTimeInput(attrs={"class": "form-control", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    reason = forms.CharField(
        label=_("Reason"), max_length=200,
        error_messages={"required": _("Say why the door may open.")},
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("e.g. hospital visit, escorted")}),
    )  # fmt: skip
