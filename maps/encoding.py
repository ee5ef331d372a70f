"""Compact text forms of geometry for the page, and safe embedding of JSON in a script tag.

Why not GeoJSON: a dissolved noisy field of 170,000 res-9 cells is about 6 MB of GeoJSON at 5
decimals, but 2.5 MB as integer deltas (measured on the benchmark field). Coordinates are
rounded to ``SCALE`` (1e-5 degree, about 1.1 m at the equator, far below a res-9 edge of 174 m,
H3 docs "Tables of cell statistics across resolutions") and each ring is written as
``[x0, y0, dx1, dy1, ...]`` in integer units, longitude first, without the closing vertex.
``deadzone.js::decodePolygons`` turns them back into Leaflet lat/lng arrays.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

SCALE = 100_000

Ring = Iterable[Sequence[float]]
EncodedPolygon = list[list[int]]


def ring_to_deltas(ring: Ring, *, scale: int = SCALE) -> list[int]:
    """Encode one ring of (lon, lat) degrees; a repeated closing vertex is dropped."""
    points = [(round(x * scale), round(y * scale)) for x, y, *_ in ring]
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    out: list[int] = []
    px = py = 0
    for x, y in points:
        out.append(x - px)
        out.append(y - py)
        px, py = x, y
    return out


def rings_to_polygon(rings: Iterable[Ring], *, scale: int = SCALE) -> EncodedPolygon:
    """Encode a polygon given as its exterior ring followed by its holes."""
    return [ring_to_deltas(ring, scale=scale) for ring in rings]


def geometry_to_polygons(geometry: BaseGeometry, *, scale: int = SCALE) -> list[EncodedPolygon]:
    """Encode a shapely Polygon or MultiPolygon (WGS84) as a list of encoded polygons.

    Other geometry types (points, lines) have no outline to draw: ``ValueError``.
    """
    if isinstance(geometry, Polygon):
        parts: Sequence[Polygon] = [geometry]
    elif isinstance(geometry, MultiPolygon):
        parts = list(geometry.geoms)
    else:
        raise ValueError(f"expected a Polygon or MultiPolygon, got {geometry.geom_type}")
    return [
        rings_to_polygon([p.exterior.coords, *(i.coords for i in p.interiors)], scale=scale)
        for p in parts
        if not p.is_empty
    ]


def json_for_script(value: object) -> str:
    """JSON that is safe inside an inline ``<script>``: no ``</script>``, no ``<!--``.

    Escaping ``<``, ``>`` and ``&`` as ``\\u003c``-style escapes is what Django's
    ``json_script`` and Jinja's ``tojson`` do; U+2028/2029 are line ends in older JS.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
