"""Patches: neighbouring cells of one status dissolved into one outline, with merged evidence.

Drawing one GeoJSON feature per hexagon is what made a 100k-cell Folium map take 93 s to load
(DESIGN.md, "Performance facts"); dissolving cells of a class into polygons brought it under
2 s. A patch is one connected group (H3 edge neighbours, ``grid_disk(c, 1)``) of cells that share
operator, resolution and status, so its tooltip can still say something local.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import h3
import h3.api.basic_int as h3int
import numpy as np
import pandas as pd

from .model import Decision

# One polygon: (lon, lat) rings in degrees, exterior first, then holes.
Rings = tuple[tuple[tuple[float, float], ...], ...]


@dataclass(frozen=True)
class Patch:
    """Connected cells of one operator, resolution and status, and their merged evidence.

    ``rings`` holds one polygon as (lon, lat) rings in degrees, exterior first then holes.
    ``devices`` is the sum of each cell's distinct devices, an upper bound on the distinct
    devices of the patch (one phone walking through five cells counts five times).
    Signal bounds are in dBm over cells with a mean; None when no cell has one.
    """

    operator: str
    resolution: int
    status: Decision
    cells: tuple[str, ...]
    rings: Rings
    readings: int
    devices: int
    dbm_min: float | None
    dbm_max: float | None
    confidence_min: float
    confidence_max: float
    last_seen: pd.Timestamp | None
    rows: tuple[int, ...]


def cells_to_components(cells: Sequence[str]) -> list[list[int]]:
    """Group positions of ``cells`` into connected components of H3 edge neighbours.

    Union-find with path halving over H3's integer API (string conversion of each neighbour
    list cost more than the search itself). Returns lists of positions into ``cells``, each
    sorted, components in first-seen order.
    """
    as_int = [h3int.str_to_int(c) for c in cells]
    position = {c: i for i, c in enumerate(as_int)}
    parent = list(range(len(cells)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, cell in enumerate(as_int):
        for neighbour in h3int.grid_ring(cell, 1):
            j = position.get(neighbour)
            if j is not None and j < i:
                a, b = find(i), find(j)
                if a != b:
                    parent[a] = b
    groups: dict[int, list[int]] = {}
    for i in range(len(cells)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def component_to_polygons(cells: Sequence[str]) -> list[Rings]:
    """Outline of connected cells as polygons of (lon, lat) rings (exterior, then holes)."""
    if len(cells) == 1:
        ring = tuple((lng, lat) for lat, lng in h3.cell_to_boundary(cells[0]))
        return [(ring,)]
    geo = h3.cells_to_geo(list(cells))
    coords = geo["coordinates"]
    # h3 already gives tuples of (lng, lat) float tuples, GeoJSON order.
    return [coords] if geo["type"] == "Polygon" else list(coords)


def frame_to_patches(frame: pd.DataFrame) -> list[Patch]:
    """Dissolve a normalised cell table (``model.cells_to_frame``) into patches.

    Every row ends up in exactly one patch, so the cells of the patches of one (operator,
    resolution, status) are exactly the input cells of that group. H3 returns one polygon per
    connected component; should it return several (near a pentagon or the antimeridian, never
    in Vietnam), the evidence stays on the first so nothing is counted twice.
    """
    patches: list[Patch] = []
    if frame.empty:
        return patches
    readings = frame["readings"].to_numpy(dtype=np.int64)
    devices = frame["devices"].to_numpy(dtype=np.int64)
    dbm = frame["signal_dbm_mean"].to_numpy(dtype=float)
    confidence = frame["confidence"].to_numpy(dtype=float)
    # One conversion: pandas 3 string columns iterate element by element (1.3 s at 170k x 3).
    h3_index = frame["h3"].to_numpy(dtype=object)
    # Naive UTC datetime64 so that max() and NaT tests stay in numpy (pandas per group: 13 s).
    last_seen = frame["last_seen"].dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    keys = ["operator", "resolution", "status"]
    # ``indices`` are row positions, whatever the frame's index labels are.
    for key, positions in frame.groupby(keys, sort=True).indices.items():
        operator, resolution, status = cast(tuple[str, int, str], key)
        rows = np.asarray(positions)
        cells = h3_index[rows].tolist()
        for component in cells_to_components(cells):
            member_rows = rows[component]
            member_cells = [cells[i] for i in component]
            signal = dbm[member_rows]
            signal = signal[~np.isnan(signal)]
            seen = last_seen[member_rows]
            seen = seen[~np.isnat(seen)]
            polygons = component_to_polygons(member_cells)
            for k, rings in enumerate(polygons):
                first = k == 0
                patches.append(
                    Patch(
                        operator=str(operator),
                        resolution=int(resolution),
                        status=Decision(str(status)),
                        cells=tuple(member_cells) if first else (),
                        rings=rings,
                        readings=int(readings[member_rows].sum()) if first else 0,
                        devices=int(devices[member_rows].sum()) if first else 0,
                        dbm_min=float(signal.min()) if signal.size else None,
                        dbm_max=float(signal.max()) if signal.size else None,
                        confidence_min=float(confidence[member_rows].min()),
                        confidence_max=float(confidence[member_rows].max()),
                        last_seen=pd.Timestamp(seen.max(), tz="UTC") if seen.size else None,
                        rows=tuple(int(r) for r in member_rows) if first else (),
                    )
                )
    return patches
