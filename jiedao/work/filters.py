"""The one filter set for work-item lists: the HTML work list, its Excel export and the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import FilterForm
from jiedao.work.choices import OPEN_STATUSES, Priority, WorkStatus
from jiedao.work.models import WorkItem

SORTABLE = {
    "due": "due_at",
    "priority": "priority",
    "status": "status",
    "title": "title",
    "kind": "kind",
    "created": "created_at",
}
DEFAULT_SORT = "due"

STATUS_CHOICES = [("", _("Any status")), ("open_any", _("Open or in progress")), *WorkStatus.choices]
_SELECT = {"class": "form-select"}


class WorkFilter(FilterForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control", "type": "search", "placeholder": _("Title")}),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=STATUS_CHOICES, widget=forms.Select(attrs=_SELECT)
    )
    kind = forms.CharField(label=_("Kind"), required=False, max_length=50, widget=forms.Select(attrs=_SELECT))
    assignee = forms.CharField(
        label=_("Assignee"), required=False, max_length=20, widget=forms.Select(attrs=_SELECT)
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any priority")), *Priority.choices],
        widget=forms.Select(attrs=_SELECT),
    )
    overdue = forms.BooleanField(
        label=_("Overdue only"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None,
        *,
        user: Any,
        kinds: list[str] | None = None,
        assignees: list[tuple[int, str]] | None = None,
    ) -> None:
        super().__init__(data or {})
        self.user = user
        # The select options come from what is in scope; the values are still validated in clean_*.
        self.fields["kind"].widget.choices = [("", _("All kinds")), *((k, k) for k in kinds or [])]  # type: ignore[attr-defined]
        self.fields["assignee"].widget.choices = [  # type: ignore[attr-defined]
            ("", _("Anyone")), ("me", _("Me")), ("none", _("Unassigned")),
            *((str(pk), name) for pk, name in assignees or []),
        ]  # fmt: skip

    def clean_assignee(self) -> str:
        value = (self.cleaned_data.get("assignee") or "").strip()
        if value and value not in ("me", "none") and not value.isdigit():
            raise forms.ValidationError(_("Use me, none or a user id."))
        return value

    def apply(self, qs: QuerySet[WorkItem]) -> QuerySet[WorkItem]:
        """Filter `qs`; an invalid filter gives an empty list (the form says why), never a wider one."""
        if not self.is_valid():
            return qs.none()
        d = self.cleaned_data
        if d.get("q"):
            qs = qs.filter(Q(title__icontains=d["q"]) | Q(subject_label__icontains=d["q"]))
        status = d.get("status")
        if status == "open_any":
            qs = qs.filter(status__in=OPEN_STATUSES)
        elif status:
            qs = qs.filter(status=status)
        if d.get("kind"):
            qs = qs.filter(kind=d["kind"])
        assignee = d.get("assignee")
        if assignee == "me":
            qs = qs.filter(assignee=self.user)
        elif assignee == "none":
            qs = qs.filter(assignee__isnull=True)
        elif assignee:
            qs = qs.filter(assignee_id=int(assignee))
        if d.get("priority"):
            qs = qs.filter(priority=d["priority"])
        if d.get("overdue"):
            qs = qs.filter(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        return qs


def filter_options(qs: QuerySet[WorkItem]) -> tuple[list[str], list[tuple[int, str]]]:
    """The kinds and assignees present in `qs` (two small queries), for the filter selects."""
    kinds = list(qs.order_by().values_list("kind", flat=True).distinct()[:200])
    rows = (
        qs.filter(assignee__isnull=False)
        .order_by()
        .values_list("assignee_id", "assignee__display_name", "assignee__username")
        .distinct()[:500]
    )
    assignees = sorted(((pk, dn or un) for pk, dn, un in rows), key=lambda r: r[1])
    return sorted(kinds), assignees
