"""Compact text forms of geometry for the page, and safe embedding of JSON in a script tag.

Why not GeoJSON: on the benchmark field (170,000 res-9 cells, 5 % noise) one operator's
dissolved patches are about 6 MB of GeoJSON at 5 decimals, 3.4 MB as JSON integer deltas and
about 1.7 MB as the text below. Coordinates are rounded to ``SCALE`` (1e-5 degree, about 1.1 m,
far below a res-9 edge of 174 m, H3 "Tables of cell statistics across resolutions"); a ring is
``x0, y0, dx1, dy1, ...`` in integer units, longitude first, no closing vertex, and the integers
are written with Google's Encoded Polyline Algorithm Format (zig-zag sign, 5-bit groups, chars
63..126: no quote, no ``<``, ``>`` or ``&``). ``deadzone.js::decodeInts`` reads them back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

SCALE = 100_000

Ring = Iterable[Sequence[float]]
EncodedPolygon = list[str]


def ints_to_text(values: Sequence[int] | np.ndarray) -> str:
    """Encode signed integers (|v| < 2**30) in the Encoded Polyline Algorithm Format."""
    if len(values) < _NUMPY_FROM:
        return _small_ints_to_text(values)
    v = np.asarray(values, dtype=np.int64)
    zigzag = np.where(v < 0, ~(v << 1), v << 1)
    # Seven 5-bit groups hold 35 bits, more than the 31 a JS bitwise int keeps.
    groups = (zigzag[:, None] >> (5 * np.arange(7))) & 0x1F
    used = np.maximum(1, (np.floor(np.log2(np.maximum(zigzag, 1))).astype(np.int64) // 5) + 1)
    more = np.arange(7)[None, :] < (used[:, None] - 1)
    chars = (groups | (more * 0x20)) + 63
    keep = np.arange(7)[None, :] < used[:, None]
    return chars[keep].astype(np.uint8).tobytes().decode("ascii")


# Below this many values a plain loop beats numpy's per-call overhead (~50 us), measured on
# the benchmark field where most rings are single hexagons (12 integers).
_NUMPY_FROM = 200


def _small_ints_to_text(values: Sequence[int] | np.ndarray) -> str:
    out: list[str] = []
    for value in values:
        v = int(value)
        v = ~(v << 1) if v < 0 else v << 1
        while v >= 0x20:
            out.append(chr((0x20 | (v & 0x1F)) + 63))
            v >>= 5
        out.append(chr(v + 63))
    return "".join(out)


def text_to_ints(text: str) -> list[int]:
    """Inverse of ``ints_to_text`` (the same loop as deadzone.js, for tests)."""
    out: list[int] = []
    value = shift = 0
    for char in text:
        b = ord(char) - 63
        value |= (b & 0x1F) << shift
        shift += 5
        if b < 0x20:
            out.append(~(value >> 1) if value & 1 else value >> 1)
            value = shift = 0
    return out


def ring_to_deltas(ring: Ring, *, scale: int = SCALE) -> list[int]:
    """Integer deltas of one ring of (lon, lat) degrees; a closing vertex is dropped."""
    out: list[int] = []
    px = py = 0
    first = None
    for point in ring:
        x, y = round(point[0] * scale), round(point[1] * scale)
        if first is None:
            first = (x, y)
        out += (x - px, y - py)
        px, py = x, y
    if len(out) > 2 and (px, py) == first:
        del out[-2:]  # the closing vertex repeats the first
    return out


def rings_to_polygon(rings: Iterable[Ring], *, scale: int = SCALE) -> EncodedPolygon:
    """Encode a polygon given as its exterior ring followed by its holes."""
    return [ints_to_text(ring_to_deltas(ring, scale=scale)) for ring in rings]


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
