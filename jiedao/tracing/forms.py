"""Starting a trace: the index case's onset and the run's rules (input translation only)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.tracing.actions.runs import MAX_LOOKBACK_DAYS


class StartTraceForm(forms.Form):
    onset = forms.DateTimeField(
        label=_("Onset or sampling time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text=_("The look-back ends here: the first positive sample, or the onset of symptoms."),
    )
    lookback_days = forms.IntegerField(
        label=_("Look back (days)"), min_value=1, max_value=MAX_LOOKBACK_DAYS, initial=4
    )
    secondary = forms.BooleanField(
        label=_("Also find secondary close contacts"), required=False, initial=True
    )
    companions = forms.BooleanField(
        label=_("Cell records by the spatio-temporal companion rule"),
        required=False,
        initial=True,
        help_text=_(
            "More than 10 minutes in the same 800 m cell, and either person over 30 hours there in 14 days."
        ),
    )
