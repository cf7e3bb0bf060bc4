"""Outlines for the Huayang map: generating plausible polygons near 30.50° N, 104.05° E that tile
exactly (subdistrict → communities → grids), and reading them back as GeoJSON FeatureCollections that
ECharts' `echarts.registerMap(name, geojson)` accepts as they are.

Polygons are jittered quadrilaterals on a shared lattice: neighbours share their vertices, so the
pieces tile the whole without gaps or overlaps (a community edge may carry extra collinear points from
one side only, which changes nothing). Coordinates are GeoJSON order: [longitude, latitude]."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Point = tuple[float, float]  # (lng, lat)

# The extent of the demo subdistrict: about 10.6 km east–west and 10 km north–south around Huayang.
LNG_MIN, LNG_MAX = 103.995, 104.105
LAT_MIN, LAT_MAX = 30.455, 30.545
CENTER: Point = (104.05, 30.50)
COMMUNITY_COLS, COMMUNITY_ROWS = 5, 2
_DIGITS = 6  # ~0.1 m: enough for a map, and equal vertices round equally


def _bilinear(corners: Sequence[Point], u: float, v: float) -> Point:
    """The point at (u, v) ∈ [0, 1]² of the quadrilateral (p00, p10, p11, p01)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners
    x = (1 - u) * (1 - v) * x0 + u * (1 - v) * x1 + u * v * x2 + (1 - u) * v * x3
    y = (1 - u) * (1 - v) * y0 + u * (1 - v) * y1 + u * v * y2 + (1 - u) * v * y3
    return (x, y)


def _round(p: Point) -> list[float]:
    return [round(p[0], _DIGITS), round(p[1], _DIGITS)]


def polygon(ring: Sequence[Point]) -> dict[str, Any]:
    """A GeoJSON Polygon from an open ring given counter-clockwise (closed here)."""
    coords = [_round(p) for p in ring]
    coords.append(coords[0])
    return {"type": "Polygon", "coordinates": [coords]}


def _boundary(lattice: Sequence[Sequence[Point]]) -> list[Point]:
    """The counter-clockwise outer ring of a lattice indexed [column][row]."""
    cols, rows = len(lattice) - 1, len(lattice[0]) - 1
    ring = [lattice[i][0] for i in range(cols)]  # south edge, west → east
    ring += [lattice[cols][j] for j in range(rows)]  # east edge, south → north
    ring += [lattice[i][rows] for i in range(cols, 0, -1)]  # north edge, east → west
    ring += [lattice[0][j] for j in range(rows, 0, -1)]  # west edge, north → south
    return ring


@dataclass
class Cell:
    """One grid cell: its four corners (sw, se, ne, nw) for placing points inside it."""

    corners: tuple[Point, Point, Point, Point]

    def point(self, u: float, v: float) -> Point:
        return _bilinear(self.corners, u, v)

    def outline(self) -> dict[str, Any]:
        return polygon(self.corners)

    def inner(self, u0: float, v0: float, u1: float, v1: float) -> dict[str, Any]:
        """A small polygon inside the cell (a compound's outline)."""
        return polygon([self.point(u0, v0), self.point(u1, v0), self.point(u1, v1), self.point(u0, v1)])


@dataclass
class Outlines:
    subdistrict: dict[str, Any]
    communities: list[dict[str, Any]]
    grids: list[list[Cell]]  # per community, the cells in row-major order (south row first)


def build_outlines(rng: random.Random, layouts: Sequence[tuple[int, int]]) -> Outlines:
    """Outlines for len(layouts) communities on a COMMUNITY_COLS × COMMUNITY_ROWS lattice; community k
    is split into layouts[k] = (columns, rows) grids."""
    if len(layouts) > COMMUNITY_COLS * COMMUNITY_ROWS:
        raise ValueError(f"at most {COMMUNITY_COLS * COMMUNITY_ROWS} communities fit the lattice")
    dx = (LNG_MAX - LNG_MIN) / COMMUNITY_COLS
    dy = (LAT_MAX - LAT_MIN) / COMMUNITY_ROWS
    # Jitter up to 18% of a cell keeps every quadrilateral convex, so bilinear points stay inside.
    big = [
        [
            (
                LNG_MIN + i * dx + rng.uniform(-0.18, 0.18) * dx,
                LAT_MIN + j * dy + rng.uniform(-0.18, 0.18) * dy,
            )
            for j in range(COMMUNITY_ROWS + 1)
        ]
        for i in range(COMMUNITY_COLS + 1)
    ]
    communities: list[dict[str, Any]] = []
    grids: list[list[Cell]] = []
    for k, (gc, gr) in enumerate(layouts):
        ci, cj = k % COMMUNITY_COLS, k // COMMUNITY_COLS
        corners = (big[ci][cj], big[ci + 1][cj], big[ci + 1][cj + 1], big[ci][cj + 1])
        sub: list[list[Point]] = []
        for a in range(gc + 1):
            column = []
            for b in range(gr + 1):
                u, v = a / gc, b / gr
                # Interior points move freely; points on an edge move only along it, so they stay on
                # the straight line the neighbouring community shares.
                if 0 < a < gc:
                    u += rng.uniform(-0.15, 0.15) / gc
                if 0 < b < gr:
                    v += rng.uniform(-0.15, 0.15) / gr
                column.append(_bilinear(corners, u, v))
            sub.append(column)
        communities.append(polygon(_boundary(sub)))
        grids.append(
            [
                Cell((sub[a][b], sub[a + 1][b], sub[a + 1][b + 1], sub[a][b + 1]))
                for b in range(gr)
                for a in range(gc)
            ]
        )
    used = [[big[i][j] for j in range(COMMUNITY_ROWS + 1)] for i in range(COMMUNITY_COLS + 1)]
    return Outlines(subdistrict=polygon(_boundary(used)), communities=communities, grids=grids)


# ---- geometry helpers (tests and map pages) -----------------------------------------------------


def ring_of(geometry: dict[str, Any]) -> list[Point]:
    return [(p[0], p[1]) for p in geometry["coordinates"][0]]


def polygon_area(geometry: dict[str, Any]) -> float:
    """Signed shoelace area in square degrees (positive for a counter-clockwise ring)."""
    ring = ring_of(geometry)
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


def contains(geometry: dict[str, Any], lng: float, lat: float) -> bool:
    """Whether (lng, lat) lies inside the polygon (ray casting; the boundary counts as either)."""
    ring = ring_of(geometry)
    inside = False
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        if (y0 > lat) != (y1 > lat) and lng < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def bounds(fc: dict[str, Any]) -> tuple[float, float, float, float]:
    """(lng_min, lat_min, lng_max, lat_max) of a FeatureCollection."""
    xs: list[float] = []
    ys: list[float] = []
    for f in fc["features"]:
        for x, y in ring_of(f["geometry"]):
            xs.append(x)
            ys.append(y)
    if not xs:
        return (LNG_MIN, LAT_MIN, LNG_MAX, LAT_MAX)
    return (min(xs), min(ys), max(xs), max(ys))


# ---- reading outlines back as GeoJSON: lives with the units in org; kept importable from here.

from jiedao.org.geo import feature_collection  # noqa: E402,F401
