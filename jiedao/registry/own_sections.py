"""The register's own sections of the household file and the person page, and its dashboard cards;
both are registered from `RegistryConfig.ready()`."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core.dashboard import Card, Panel
from jiedao.core.models import AuditEntry
from jiedao.org.geo import feature_collection
from jiedao.org.models import Community, Grid
from jiedao.registry.choices import CareTagKind, IdType, Relation, Sex
from jiedao.registry.models import CareTag, Household, Person, Resident
from jiedao.registry.queries import can_read, household_history, person_history, scoped
from jiedao.registry.sections import register_household_section, register_person_section

ACTION_LABELS = {
    "registry.create_household": gettext_lazy("Household file opened"),
    "registry.add_resident": gettext_lazy("Resident added"),
    "registry.move_out_resident": gettext_lazy("Resident moved out"),
    "registry.register_person": gettext_lazy("Person registered"),
    "registry.update_person": gettext_lazy("Details changed"),
    "registry.set_care_tags": gettext_lazy("Care tags changed"),
    "registry.unmask_person": gettext_lazy("Full number viewed"),
    "registry.import_households": gettext_lazy("Imported"),
    "registry.stage_import": gettext_lazy("Spreadsheet uploaded for import"),
    "registry.create_compound": gettext_lazy("Compound registered"),
    "registry.create_building": gettext_lazy("Building registered"),
    "registry.create_entrance": gettext_lazy("Entrance registered"),
    "registry.create_flat": gettext_lazy("Flat registered"),
    "registry.export_households": gettext_lazy("Households exported to Excel"),
    "registry.export_persons": gettext_lazy("Persons exported to Excel"),
}


FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "id_type": gettext_lazy("Document type"),
    "id_number": gettext_lazy("Document number"),
    "phone": gettext_lazy("Phone"),
    "sex": gettext_lazy("Sex"),
    "birth_date": gettext_lazy("Birth date"),
    "notes": gettext_lazy("Notes"),
    "care_tags": gettext_lazy("Care tags"),
    "relation": gettext_lazy("Relation"),
    "moved_out": gettext_lazy("Moved out"),
    "file_no": gettext_lazy("File number"),
    "address": gettext_lazy("Address"),
}
_CHOICES: dict[str, dict[str, Any]] = {
    "care_tags": dict(CareTagKind.choices),
    "relation": dict(Relation.choices),
    "sex": dict(Sex.choices),
    "id_type": dict(IdType.choices),
}


def _show(field: str, value: Any) -> str:
    """One value as people read it: choices by their labels, lists joined, nothing as a dash."""
    labels = _CHOICES.get(field, {})
    if isinstance(value, list):
        return "、".join(str(labels.get(v, v)) for v in value) or "—"
    if value in (None, ""):
        return "—"
    return str(labels.get(value, value))


def _entry(e: AuditEntry) -> dict[str, Any]:
    changes = e.changes if isinstance(e.changes, dict) else {}
    update = e.action == "registry.update_person"
    shown = []
    for key, value in changes.items():
        if key not in FIELD_LABELS or (key == "name" and not update):
            continue
        if isinstance(value, list) and len(value) == 2 and (update or key == "care_tags"):
            text = f"{_show(key, value[0])} → {_show(key, value[1])}"
        elif value in (None, ""):
            continue
        else:
            text = _show(key, value)
        shown.append((FIELD_LABELS[key], text))
    return {
        "at": e.at,
        "actor_label": e.actor_label,
        "label": ACTION_LABELS.get(e.action, e.action),
        "name": "" if update else changes.get("name", ""),
        "changes": shown,
        "reason": e.reason,
    }


def household_history_section(request: HttpRequest, household: Household) -> dict[str, Any]:
    return {
        "template": "registry/_history.html",
        "entries": [_entry(e) for e in household_history(household, request.user)],
    }


def person_history_section(request: HttpRequest, person: Person) -> dict[str, Any]:
    return {"template": "registry/_history.html", "entries": [_entry(e) for e in person_history(person)]}


def register_sections() -> None:
    register_household_section(
        "registry.history", gettext_lazy("Change history"), 900, household_history_section
    )
    register_person_section("registry.history", gettext_lazy("Change history"), 900, person_history_section)


def registry_cards(user: Any) -> list[Card]:
    """Households, residents and persons with care needs in the user's area."""
    if not can_read(user):
        return []
    households = scoped(Household.objects.all(), user).exclude(status="moved_out").count()
    residents = scoped(Resident.objects.filter(moved_out__isnull=True), user).count()
    tagged = (
        scoped(Person.objects.all(), user)
        .filter(Exists(CareTag.objects.filter(person=OuterRef("pk"))))
        .count()
    )
    households_url = reverse("registry:households")
    persons_url = reverse("registry:persons")
    return [
        Card(_("Households"), households, households_url, note=_("living or away")),
        Card(_("Residents"), residents, persons_url, note=_("currently living in a household")),
        Card(
            _("With care needs"),
            tagged,
            f"{persons_url}?care_tag=any",
            note=_("elderly alone, disabled, …"),
            tone="warning" if tagged else "",
        ),
    ]


def registry_map_panel(user: Any) -> list[Panel]:
    """Households per community (or per grid for a user whose area is inside one community), on the
    outlines of the units — the view a command centre reads first."""
    if not can_read(user):
        return []
    communities = Community.objects.visible_to(user)
    by_grid = communities.count() <= 1
    if by_grid:
        units = Grid.objects.visible_to(user).select_related("community")
        fc = feature_collection("grid", units)
        key = "grid_id"
    else:
        fc = feature_collection("community", communities)
        key = "community_id"
    counts = dict(
        scoped(Household.objects.exclude(status="moved_out"), user)
        .values_list(key)
        .annotate(n=Count("pk"))
        .values_list(key, "n")
    )
    data = [
        {"name": f["properties"]["name"], "value": counts.get(f["properties"]["pk"], 0)}
        for f in fc["features"]
    ]
    if not data:
        return []
    return [
        Panel(
            _("Households by grid") if by_grid else _("Households by community"),
            "registry/_map_panel.html",
            {"geojson": fc, "data": data, "series_name": str(_("Households"))},
        )
    ]
