"""The dashboard map: households per unit on the units' outlines, within the viewer's scope."""

from __future__ import annotations

import pytest

from jiedao.registry.own_sections import registry_map_panel
from jiedao.registry.tests.factories import make_household

pytestmark = pytest.mark.django_db


def _square(x: float) -> dict:
    ring = [[x, 30.5], [x + 0.01, 30.5], [x + 0.01, 30.51], [x, 30.51], [x, 30.5]]
    return {"type": "Polygon", "coordinates": [ring]}


def _outline(cast) -> None:  # type: ignore[no-untyped-def]
    for i, unit in enumerate([cast.community_a, cast.community_b, cast.grid_a1, cast.grid_a2, cast.grid_b1]):
        unit.geometry = _square(104.0 + i * 0.01)
        unit.save()


def test_command_sees_households_per_community(cast) -> None:  # type: ignore[no-untyped-def]
    _outline(cast)
    make_household(cast.community_a, cast.grid_a1, members=1)
    make_household(cast.community_a, cast.grid_a2, members=1)
    make_household(cast.community_b, cast.grid_b1, members=1)
    [panel] = registry_map_panel(cast["command"])
    values = {d["name"]: d["value"] for d in panel.context["data"]}
    assert values == {cast.community_a.name: 2, cast.community_b.name: 1}
    assert {f["properties"]["name"] for f in panel.context["geojson"]["features"]} == set(values)


def test_grid_worker_sees_only_their_grid(cast) -> None:  # type: ignore[no-untyped-def]
    _outline(cast)
    make_household(cast.community_a, cast.grid_a1, members=1)
    make_household(cast.community_a, cast.grid_a2, members=1)
    [panel] = registry_map_panel(cast["grid_worker_a"])
    assert [(d["value"]) for d in panel.context["data"]] == [1]
    assert len(panel.context["geojson"]["features"]) == 1


def test_no_outlines_no_panel(cast) -> None:  # type: ignore[no-untyped-def]
    assert registry_map_panel(cast["command"]) == []
    assert registry_map_panel(cast["sampler_a"]) == []
