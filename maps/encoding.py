"""Compact text forms of geometry for the page, and safe embedding of JSON in a script tag.

Why not GeoJSON: on the benchmark field (170,000 res-9 cells, 5 % noise) one operator's
dissolved patches are about 6 MB of GeoJSON at 5 decimals, 3.4 MB as JSON integer deltas, 1.3 MB
as polyline-coded deltas and about 0.5 MB with the hexagon turn code below.

Coordinates are rounded to ``SCALE`` (1e-5 degree, about 1.1 m, far below a res-9 edge of
174 m, H3 "Tables of cell statistics across resolutions") and integers are written with Google's
Encoded Polyline Algorithm Format (zig-zag sign, 5-bit groups, chars 63..126: no quote, no
``<``, ``>`` or ``&``).

A ring is ``x0, y0, dx1, dy1, dx2, dy2`` (longitude first, integer units, no closing vertex)
followed by one *turn code* per further vertex. On the boundary of a union of hexagons every
vertex turns the path by +-60 degrees, so the next step is, up to rounding and H3's small
distortions, either ``d[i-1] - d[i-2]`` (keep turning the same way) or ``d[i-2]`` (zig-zag).
The code says which (lowest bit) and carries the residual (rx, ry) as a Szudzik pair of their
zig-zags; on the benchmark field the residual is at most 2 units, so almost every vertex is one
character instead of four. Any other polygon still round-trips exactly, only less compactly.
``deadzone.js::decodeRing`` is the reader.
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
    """Encode signed integers (|v| < 2**52, what a JS number holds exactly) in the Encoded
    Polyline Algorithm Format."""
    if len(values) < _NUMPY_FROM:
        return _small_ints_to_text(values)
    return _encode_array(np.asarray(values, dtype=np.int64))[0]


def int_lists_to_texts(lists: Sequence[Sequence[int] | np.ndarray]) -> list[str]:
    """``[ints_to_text(x) for x in lists]`` in one numpy pass (thousands of short lists)."""
    if not lists:
        return []
    sizes = np.array([len(x) for x in lists], dtype=np.int64)
    flat = np.concatenate([np.asarray(x, dtype=np.int64).ravel() for x in lists])
    return _split_text(flat, sizes)


def _split_text(flat: np.ndarray, sizes: np.ndarray) -> list[str]:
    """Encode ``flat`` and cut the text into pieces holding ``sizes`` integers each."""
    text, used = _encode_array(flat)
    ends = np.cumsum(sizes)
    char_ends = np.concatenate([[0], np.cumsum(used)])[ends]
    char_starts = np.concatenate([[0], char_ends[:-1]])
    return [text[a:b] for a, b in zip(char_starts.tolist(), char_ends.tolist(), strict=True)]


def _encode_array(v: np.ndarray) -> tuple[str, np.ndarray]:
    """Polyline text of ``v`` and the number of characters of each integer."""
    if v.size == 0:
        return "", np.zeros(0, dtype=np.int64)
    zigzag = np.where(v < 0, ~(v << 1), v << 1)
    # Bit length from the float exponent: exact, as every |v| < 2**52 is exact as a float.
    bits = np.frexp(zigzag.astype(np.float64))[1].astype(np.int64)
    used = np.maximum(1, (bits + 4) // 5)
    # As many 5-bit groups as the longest integer needs (at most 11 for 53 bits).
    width = np.arange(int(used.max()))
    groups = (zigzag[:, None] >> (5 * width)) & 0x1F
    more = width[None, :] < (used[:, None] - 1)
    chars = (groups | (more * 0x20)) + 63
    keep = width[None, :] < used[:, None]
    return chars[keep].astype(np.uint8).tobytes().decode("ascii"), used


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


def _zigzag(v: int) -> int:
    return (v << 1) if v >= 0 else ((-v << 1) - 1)


def _unzigzag(z: int) -> int:
    return (z >> 1) if not z & 1 else -((z + 1) >> 1)


def _pair(a: int, b: int) -> int:
    # Szudzik's pairing of two naturals: small pairs give small numbers (0..8 for a, b <= 2).
    return a * a + a + b if a >= b else a + b * b


def _unpair(z: int) -> tuple[int, int]:
    s = int(z**0.5)
    while s * s > z:
        s -= 1
    while (s + 1) * (s + 1) <= z:
        s += 1
    return (z - s * s, s) if z - s * s < s else (s, z - s * s - s)


def ring_to_text(ring: Ring, *, scale: int = SCALE) -> str:
    """Encode one ring of (lon, lat) degrees with turn codes (module docstring)."""
    deltas = ring_to_deltas(ring, scale=scale)
    out = deltas[:6]
    pair, zigzag = _pair, _zigzag  # locals: this loop runs once per vertex of the province
    ax, ay, bx, by = (deltas + [0, 0, 0, 0, 0, 0])[2:6]
    for i in range(6, len(deltas), 2):
        cx, cy = deltas[i], deltas[i + 1]
        same_way = 2 * pair(zigzag(cx - bx + ax), zigzag(cy - by + ay))
        zig_zag = 1 + 2 * pair(zigzag(cx - ax), zigzag(cy - ay))
        # The code is itself written as a signed polyline int: unzigzag it so that the
        # polyline's own zig-zag gives back the small code (one character below 32).
        out.append(_unzigzag(min(same_way, zig_zag)))
        ax, ay, bx, by = bx, by, cx, cy
    return ints_to_text(out)


def text_to_ring(text: str) -> list[tuple[int, int]]:
    """Inverse of ``ring_to_text`` in integer units (the same steps as deadzone.js)."""
    values = text_to_ints(text)
    if len(values) < 2:
        return []
    x, y = values[0], values[1]
    points = [(x, y)]
    steps: list[tuple[int, int]] = []
    for i in range(2, min(len(values), 6), 2):
        steps.append((values[i], values[i + 1]))
    for value in values[6:]:
        code = _zigzag(value)
        rx, ry = (_unzigzag(v) for v in _unpair(code >> 1))
        (ax, ay), (bx, by) = steps[-2], steps[-1]
        px, py = (ax, ay) if code & 1 else (bx - ax, by - ay)
        steps.append((px + rx, py + ry))
    for dx, dy in steps:
        x, y = x + dx, y + dy
        points.append((x, y))
    return points


def _pair_array(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(a >= b, a * a + a + b, a + b * b)


def _zigzag_array(v: np.ndarray) -> np.ndarray:
    return np.where(v < 0, -2 * v - 1, 2 * v)


def _unzigzag_array(z: np.ndarray) -> np.ndarray:
    return np.where(z % 2 == 1, -(z + 1) // 2, z // 2)


def rings_to_texts(rings: Sequence[Sequence[Sequence[float]]], *, scale: int = SCALE) -> list[str]:
    """``[ring_to_text(r) for r in rings]`` in one numpy pass; same output, ~10x faster on the
    hundred thousand small rings of a province."""
    if not rings:
        return []
    counts = np.array([len(r) for r in rings], dtype=np.int64)
    # Rings are (lon, lat) pairs; fromiter over a generator is the fastest way in (measured).
    flat = np.fromiter((v for ring in rings for p in ring for v in p[:2]), dtype=float)
    points = np.rint(flat.reshape(-1, 2) * scale).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # Drop a closing vertex that repeats the first one (after rounding), as ring_to_deltas.
    last = starts + counts - 1
    closing = (counts > 1) & (points[last] == points[starts]).all(axis=1)
    keep = np.ones(len(points), dtype=bool)
    keep[last[closing]] = False
    points = points[keep]
    counts = counts - closing
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(len(points)) - np.repeat(starts, counts)
    steps = np.diff(points, axis=0, prepend=np.zeros((1, 2), np.int64))
    steps[position == 0] = points[position == 0]
    # Turn codes for the 4th vertex on (position >= 3): compare with the two previous steps.
    coded = position >= 3
    index = np.flatnonzero(coded)
    a, b, c = steps[index - 2], steps[index - 1], steps[index]
    same = c - b + a
    zig = c - a
    same_code = 2 * _pair_array(_zigzag_array(same[:, 0]), _zigzag_array(same[:, 1]))
    zig_code = 1 + 2 * _pair_array(_zigzag_array(zig[:, 0]), _zigzag_array(zig[:, 1]))
    codes = _unzigzag_array(np.minimum(same_code, zig_code))
    # Each vertex writes 2 integers (raw step) or 1 (turn code), in ring order.
    per_vertex = np.where(coded, 1, 2)
    out = np.empty(int(per_vertex.sum()), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(per_vertex)[:-1]])
    raw = ~coded
    out[offsets[raw]] = steps[raw, 0]
    out[offsets[raw] + 1] = steps[raw, 1]
    out[offsets[coded]] = codes
    sizes = np.add.reduceat(per_vertex, starts) if len(starts) else np.zeros(0, np.int64)
    sizes[counts == 0] = 0
    return _split_text(out, sizes)


def rings_to_polygon(rings: Iterable[Ring], *, scale: int = SCALE) -> EncodedPolygon:
    """Encode a polygon given as its exterior ring followed by its holes."""
    return [ring_to_text(ring, scale=scale) for ring in rings]


def geometry_to_polygons(geometry: BaseGeometry, *, scale: int = SCALE) -> list[EncodedPolygon]:
    """Encode a shapely Polygon or MultiPolygon (WGS84) as a list of encoded polygons.

    Other geometry types (points, lines) have no outline to draw: ``ValueError``.
    """
    return geometries_to_polygons([geometry], scale=scale)[0]


def geometries_to_polygons(
    geometries: Sequence[BaseGeometry], *, scale: int = SCALE
) -> list[list[EncodedPolygon]]:
    """``[geometry_to_polygons(g) for g in geometries]`` with every ring encoded in one numpy
    pass (``rings_to_texts``): a province's communes hold a few hundred thousand vertices."""
    shapes: list[list[int]] = []  # per geometry: the ring count of each polygon
    rings: list[Sequence[Sequence[float]]] = []
    for geometry in geometries:
        if isinstance(geometry, Polygon):
            parts: Sequence[Polygon] = [geometry]
        elif isinstance(geometry, MultiPolygon):
            parts = list(geometry.geoms)
        else:
            raise ValueError(f"expected a Polygon or MultiPolygon, got {geometry.geom_type}")
        counts = []
        for part in parts:
            if part.is_empty:
                continue
            own = [part.exterior.coords, *(i.coords for i in part.interiors)]
            rings += [list(r) for r in own]
            counts.append(len(own))
        shapes.append(counts)
    texts = iter(rings_to_texts(rings, scale=scale))
    return [[[next(texts) for _ in range(n)] for n in counts] for counts in shapes]


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
