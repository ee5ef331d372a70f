"""Dead zones: connected groups of dead cells, with stable ids across recomputes.

Components are built on the H3 grid (two dead cells are connected when they are
neighbours; optionally also across one unknown cell). A recomputed component keeps the
id of the previous zone it overlaps most (each old id goes to one component at most),
so a zone that grows, shrinks or splits keeps its id where it can; a new component
gets ``dz-<scope>-<smallest cell>``, which also revives the id of a zone that vanished
and came back in the same place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import h3
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from domain.vocabulary import BEST_OF_ALL


def connected_components(
    cells: Iterable[str], *, bridge: set[str] | None = None
) -> list[list[str]]:
    """Groups of H3 cells connected through neighbours. With ``bridge`` (cells that may
    be crossed, e.g. unknown ones), two cells are also connected through one bridge cell.
    Each group is sorted; groups are sorted by their first cell."""
    members = set(cells)
    parent = {c: c for c in members}

    def find(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for cell in members:
        for neighbour in h3.grid_ring(cell, 1):
            if neighbour in members:
                union(cell, neighbour)
            elif bridge is not None and neighbour in bridge:
                for across in h3.grid_ring(neighbour, 1):
                    if across in members:
                        union(cell, across)
    groups: dict[str, list[str]] = defaultdict(list)
    for cell in members:
        groups[find(cell)].append(cell)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def cells_to_outline(cells: list[str]) -> MultiPolygon:
    """The union of the cells' hexagons as a valid MultiPolygon (holes kept)."""
    geo = h3.cells_to_geo(cells)
    geometry: BaseGeometry = shapely.make_valid(shape(geo))
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    if isinstance(geometry, MultiPolygon):
        return geometry
    polygons = [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon)]
    return MultiPolygon(polygons)


@dataclass
class Zone:
    """A dead zone as computed (before it is stored)."""

    id: str
    operator: str
    cells: list[str]
    resolution: int
    area_km2: float
    outline: MultiPolygon
    readings: int
    devices: int
    first_seen: datetime
    last_seen: datetime
    operators_affected: list[str]
    distance_to_covered_m: float | None
    priority: float
    previous_state: str = "open"
    created_at: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)


def assign_ids(
    components: list[list[str]], previous: dict[str, list[str]], scope: str
) -> list[str]:
    """Stable ids for ``components`` given the previous zones ``{id: cells}`` of a scope."""
    owner = {cell: zone_id for zone_id, cells in previous.items() for cell in cells}
    overlaps = []
    for index, cells in enumerate(components):
        counts: dict[str, int] = defaultdict(int)
        for cell in cells:
            if cell in owner:
                counts[owner[cell]] += 1
        overlaps += [(-n, zone_id, index) for zone_id, n in counts.items()]
    ids: list[str | None] = [None] * len(components)
    taken: set[str] = set()
    for _, zone_id, index in sorted(overlaps):  # largest overlap first, then id order
        if ids[index] is None and zone_id not in taken:
            ids[index] = zone_id
            taken.add(zone_id)
    result = []
    for index, cells in enumerate(components):
        zone_id = ids[index] or f"dz-{scope}-{cells[0]}"
        if zone_id in taken and ids[index] is None:
            zone_id = f"{zone_id}-{index}"
        taken.add(zone_id)
        result.append(zone_id)
    return result


def _metres(lat: np.ndarray, lon: np.ndarray, lat0: float) -> np.ndarray:
    # An equirectangular projection about the province's latitude: within a few hundred
    # kilometres its distance error is well under 1%, plenty for "how far to signal".
    return (
        np.column_stack((np.radians(lon) * np.cos(np.radians(lat0)), np.radians(lat))) * 6_371_008.8
    )


def find_zones(
    decisions: pd.DataFrame,
    devices: pd.DataFrame,
    *,
    resolution: int,
    previous: dict[str, dict[str, list[str]]],
    bridge_unknown: bool,
) -> list[Zone]:
    """Dead zones of every operator scope (each operator and 'any') from the decisions
    of one resolution (radio 'any'). ``previous`` maps scope to ``{zone id: cells}``."""
    overall = decisions[decisions["radio"] == BEST_OF_ALL]
    zones: list[Zone] = []
    if overall.empty:
        return zones
    lat0 = float(overall["lat"].mean())
    per_operator_dead = overall[
        (overall["status"] == "dead") & (overall["operator"] != BEST_OF_ALL)
    ]
    dead_operators_by_cell: dict[int, list[str]] = {
        int(cell): sorted(ops)  # type: ignore[arg-type]
        for cell, ops in per_operator_dead.groupby("h3_cell")["operator"]
    }
    for scope, frame in overall.groupby("operator"):
        scope = str(scope)
        dead = frame[frame["status"] == "dead"]
        if dead.empty:
            continue
        by_cell = dead.set_index(dead["h3_cell"].map(lambda c: h3.int_to_str(int(c))))
        bridge = None
        if bridge_unknown:
            bridge = {
                h3.int_to_str(int(c)) for c in frame.loc[frame["status"] == "unknown", "h3_cell"]
            }
        components = connected_components(by_cell.index, bridge=bridge)
        ids = assign_ids(components, previous.get(scope, {}), scope)
        covered = frame[frame["status"] == "covered"]
        tree = None
        if not covered.empty:
            points = _metres(covered["lat"].to_numpy(), covered["lon"].to_numpy(), lat0)
            tree = shapely.STRtree(np.asarray(shapely.points(points)))
        scope_devices = devices if scope == BEST_OF_ALL else devices[devices["operator"] == scope]
        # Devices per cell, indexed once: filtering the whole table per zone was quadratic.
        devices_by_cell: dict[int, set[int]] = {
            int(cell): set(found.tolist())  # type: ignore[arg-type]
            for cell, found in scope_devices.groupby("h3_cell")["device"]
        }
        for zone_id, cells in zip(ids, components, strict=True):
            rows = by_cell.loc[cells]
            ints = [h3.str_to_int(c) for c in cells]
            zone_devices: set[int] = set().union(*(devices_by_cell.get(c, set()) for c in ints))
            distance = None
            if tree is not None:
                mine = shapely.points(_metres(rows["lat"].to_numpy(), rows["lon"].to_numpy(), lat0))
                _, dist = tree.query_nearest(mine, return_distance=True)
                distance = float(np.min(dist)) if len(dist) else None
            affected = sorted({op for c in ints for op in dead_operators_by_cell.get(c, [])})
            device_count = len(zone_devices)
            zones.append(
                Zone(
                    id=zone_id,
                    operator=scope,
                    cells=cells,
                    resolution=resolution,
                    area_km2=float(sum(h3.cell_area(c, "km^2") for c in cells)),
                    outline=cells_to_outline(cells),
                    readings=int(rows["readings"].sum()),
                    devices=device_count,
                    first_seen=rows["first_seen"].min().to_pydatetime(),
                    last_seen=rows["last_seen"].max().to_pydatetime(),
                    operators_affected=affected or ([scope] if scope != BEST_OF_ALL else []),
                    distance_to_covered_m=distance,
                    # For now: size first, then evidence (devices). The areas issue puts
                    # people affected first.
                    priority=float(len(cells) + 0.1 * device_count),
                )
            )
    return zones
