"""The outlines of the subdistrict, its communities and grids as GeoJSON, ready for ECharts maps."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": properties["code"], "properties": properties, "geometry": geometry}


def _grid_feature(g: Any) -> dict[str, Any]:
    return _feature(
        g.geometry,
        name=f"{g.community.name}{g.name}",
        code=g.code,
        pk=g.pk,
        level="grid",
        community=g.community.name,
        community_code=g.community.code,
    )


def feature_collection(level: str = "community", queryset: Any = None) -> dict[str, Any]:
    """The outlines of `level` ("subdistrict", "community" or "grid") as a GeoJSON FeatureCollection.

    Pass a scoped queryset (e.g. `Grid.objects.visible_to(user)`) to map only what a user may see.
    Each feature's `properties.name` is unique across the subdistrict (ECharts joins series data on
    it); `code` and `pk` identify the unit; rows without an outline are left out."""
    from jiedao.org.models import Community, Grid, Subdistrict

    rows: Iterable[Any]
    if level == "subdistrict":
        rows = queryset if queryset is not None else Subdistrict.objects.all()
    elif level == "community":
        rows = queryset if queryset is not None else Community.objects.all()
    elif level == "grid":
        rows = (queryset if queryset is not None else Grid.objects.all()).select_related("community")
    else:
        raise ValueError(f"unknown map level {level!r}: use subdistrict, community or grid")
    features = []
    for row in rows:
        if not row.geometry:
            continue
        if level == "grid":
            features.append(_grid_feature(row))
        else:
            features.append(_feature(row.geometry, name=row.name, code=row.code, pk=row.pk, level=level))
    return {"type": "FeatureCollection", "features": features}
