"""Site staff's status form (input translation only)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.nat.actions import MAX_QUEUE
from jiedao.nat.choices import SiteStatus


class SiteStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=SiteStatus.choices)
    queue_length = forms.IntegerField(label=_("People waiting"), min_value=0, max_value=MAX_QUEUE)
