"""Synthetic, deterministic coverage data for demos, tests and the benchmark.

Nothing here is measured: it is a plausible field so that maps can be looked at and timed
without a database. Signal is a smooth random surface (a sum of Gaussian "sites") in dBm,
classed with the LTE RSRP defaults of DESIGN.md (covered >= -105, weak >= -115, else dead);
``noise`` is the share of cells whose status is then replaced at random, to mimic the salt and
pepper of real readings. Roll-ups (res 8, 7) use a plain majority of known children, a stand-in
for the service's own roll-up rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import h3
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Polygon, box

from domain.vocabulary import BEST_OF_ALL, VILLAGE_STATUSES, Decision

from .model import (
    CELL_COLUMNS,
    CommuneProgress,
    VillageMark,
    ZoneRecord,
    cells_to_frame,
    format_operator_statuses,
)
from .patches import frame_to_patches

# Buôn Ma Thuột area, Đắk Lắk: the province of DESIGN.md's pilot.
DEFAULT_CENTER = (12.7, 108.05)
# LTE RSRP class limits in dBm (DESIGN.md "Signal thresholds": 2 bars -105, 1 bar -115).
COVERED_DBM = -105.0
WEAK_DBM = -115.0
# Fewer readings than this make a cell unknown (a stand-in for the service's minimum evidence).
MIN_READINGS = 3
_STATUS_RANK = {"covered": 3, "weak": 2, "dead": 1, "unknown": 0}
_DATA_DATE = datetime(2026, 11, 1, tzinfo=UTC)


def disk_cells(n_cells: int, *, center: tuple[float, float] = DEFAULT_CENTER) -> list[str]:
    """About ``n_cells`` res-9 cells in a hexagonal disk around ``center`` (lat, lon)."""
    # A disk of k rings holds 3k(k+1)+1 cells; take the smallest k that is enough, then trim.
    k = 0
    while 3 * k * (k + 1) + 1 < n_cells:
        k += 1
    origin = h3.latlng_to_cell(center[0], center[1], 9)
    cells = sorted(h3.grid_disk(origin, k), key=lambda c: h3.grid_distance(origin, c))
    return cells[:n_cells]


def _signal_field(lat: np.ndarray, lng: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Smooth dBm surface: best of Gaussian bumps ("sites") over a -130 dBm floor.

    A site reaches about 5 km (0.055 degree), shrunk for tiny areas so they still get a mix;
    the site count makes roughly half of the area covered.
    """
    south, north, west, east = lat.min(), lat.max(), lng.min(), lng.max()
    span = max(north - south, east - west, 0.005)
    reach_scale = min(0.055, 0.3 * span)
    sites = max(3, int(0.5 * span**2 / (1.5 * reach_scale**2)))
    best = np.full(lat.shape, -130.0)
    for _ in range(sites):
        slat = rng.uniform(south, north)
        slng = rng.uniform(west, east)
        reach = rng.uniform(0.6, 1.4) * reach_scale
        peak = rng.uniform(-92.0, -78.0)
        d2 = (lat - slat) ** 2 + (lng - slng) ** 2
        best = np.maximum(best, peak - 45.0 * d2 / reach**2)
    return best


def _classify(dbm: np.ndarray, readings: np.ndarray) -> np.ndarray:
    status = np.where(dbm >= COVERED_DBM, "covered", np.where(dbm >= WEAK_DBM, "weak", "dead"))
    return np.where(readings < MIN_READINGS, "unknown", status).astype(object)


def sample_cells(
    n_cells: int,
    *,
    operators: Sequence[str] = ("452-04", "452-02"),
    noise: float = 0.05,
    seed: int = 0,
    rollups: bool = True,
    center: tuple[float, float] = DEFAULT_CENTER,
) -> pd.DataFrame:
    """Cell table (``model.CELL_COLUMNS``) for ``operators`` plus "any", res 9 and roll-ups."""
    rng = np.random.default_rng(seed)
    cells = disk_cells(n_cells, center=center)
    latlng = np.array([h3.cell_to_latlng(c) for c in cells]).reshape(-1, 2)
    lat, lng = latlng[:, 0], latlng[:, 1]
    # Readings are sparse far from roads: a smooth density, so unknown cells cluster too.
    density = np.exp((_signal_field(lat, lng, rng) + 122.0) / 8.0)
    frames = []
    per_operator = []
    for operator in operators:
        dbm = _signal_field(lat, lng, rng) + rng.normal(0.0, 3.0, len(cells))
        readings = rng.poisson(np.clip(density * 4.0, 0.5, 60.0))
        status = _classify(dbm, readings)
        flip = rng.random(len(cells)) < noise
        status[flip] = rng.choice(["covered", "weak", "dead", "unknown"], int(flip.sum()))
        per_operator.append(status)
        frames.append(_operator_frame(cells, operator, status, dbm, readings, rng))
    if per_operator:
        # Best of all operators: per cell, the row of the operator with the best status.
        ranks = np.array([[_STATUS_RANK[s] for s in st] for st in per_operator])
        best_from = ranks.argmax(axis=0)
        stacked = pd.concat(frames, ignore_index=True)
        best = stacked.iloc[best_from * len(cells) + np.arange(len(cells))].reset_index(drop=True)
        best["operator"] = BEST_OF_ALL
        best["operator_statuses"] = [
            format_operator_statuses(dict(zip(operators, column, strict=True)))
            for column in zip(*per_operator, strict=True)
        ]
        frames.insert(0, best)
    frame = pd.concat(frames, ignore_index=True)
    frame["operator_statuses"] = frame["operator_statuses"].fillna("")
    if rollups:
        frame = pd.concat([frame, rollup(frame, 8), rollup(frame, 7)], ignore_index=True)
    return frame[list(CELL_COLUMNS)]


def _operator_frame(
    cells: Sequence[str],
    operator: str,
    status: np.ndarray,
    dbm: np.ndarray,
    readings: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    devices = np.minimum(readings, rng.poisson(np.maximum(readings / 3.0, 0.5)) + 1)
    days_ago = rng.integers(0, 90, len(cells))
    last_seen = [_DATA_DATE - timedelta(days=int(d)) for d in days_ago]
    has_signal = (status != "dead") | (rng.random(len(cells)) < 0.5)
    return pd.DataFrame(
        {
            "h3": list(cells),
            "operator": operator,
            "status": status,
            "confidence": np.round(1.0 - np.exp(-readings / 10.0), 2),
            "readings": readings,
            "devices": devices,
            "signal_dbm_mean": np.where(has_signal & (readings > 0), np.round(dbm, 1), np.nan),
            "last_seen": [t if r > 0 else None for t, r in zip(last_seen, readings, strict=True)],
            "resolution": 9,
        }
    )


def rollup(frame: pd.DataFrame, resolution: int) -> pd.DataFrame:
    """Parents at ``resolution`` of the res-9 rows: majority status of known children."""
    fine = frame[frame["resolution"] == 9].copy()
    fine["parent"] = [h3.cell_to_parent(c, resolution) for c in fine["h3"]]
    known = fine[fine["status"] != Decision.UNKNOWN.value]
    counts = known.groupby(["operator", "parent", "status"]).size().rename("n").reset_index()
    counts = counts.sort_values(["operator", "parent", "n"], ascending=[True, True, False])
    winners = counts.drop_duplicates(["operator", "parent"]).set_index(["operator", "parent"])
    majority = winners["status"].rename("majority")
    grouped = fine.groupby(["operator", "parent"]).agg(
        confidence=("confidence", "mean"),
        readings=("readings", "sum"),
        devices=("devices", "sum"),
        signal_dbm_mean=("signal_dbm_mean", "mean"),
        last_seen=("last_seen", "max"),
    )
    out = grouped.join(majority).reset_index()
    out["status"] = out["majority"].fillna(Decision.UNKNOWN.value)
    out["h3"] = out["parent"]
    out["resolution"] = resolution
    out["operator_statuses"] = ""
    return out[list(CELL_COLUMNS)]


def sample_deadzones(
    frame: pd.DataFrame,
    *,
    villages: Sequence[str] = (),
    limit: int = 20,
) -> list[ZoneRecord]:
    """Dead zones from the "any" res-9 dead patches of a ``sample_cells`` table, largest first.

    ``villages`` are handed out one per zone (the first zone gets the first name), so a test can
    put a hostile name on the map.
    """
    cells = cells_to_frame(frame)
    dead = cells[
        (cells["operator"] == BEST_OF_ALL)
        & (cells["resolution"] == 9)
        & (cells["status"] == Decision.DEAD.value)
    ].reset_index(drop=True)
    patches = sorted(frame_to_patches(dead), key=lambda p: -len(p.cells))[:limit]
    zones = []
    for i, patch in enumerate(patches):
        outline = Polygon(patch.rings[0], patch.rings[1:])
        n = len(patch.cells)
        zones.append(
            ZoneRecord(
                id=f"DZ-{i + 1:03d}",
                rank=i + 1,
                outline=outline,
                # Average res-9 cell area, 0.105 km² (H3 resolution table).
                area_km2=round(n * 0.1053, 3),
                cells=n,
                readings=patch.readings,
                devices=patch.devices,
                operators=["452-04", "452-02"] if i % 2 == 0 else ["452-04"],
                first_seen=_DATA_DATE - timedelta(days=200 - i),
                last_seen=patch.last_seen.to_pydatetime() if patch.last_seen else None,
                priority=round(100.0 / (i + 1), 2),
                population=n * 37 if i % 3 != 2 else None,
                villages=[villages[i]] if i < len(villages) else None,
            )
        )
    return zones


# Đắk Lắk's extent, roughly (degrees): about 18,000 km² like the province.
PROVINCE_BOX = (107.45, 12.15, 108.95, 13.4)


def _wiggle(coords: np.ndarray, amplitude: float) -> np.ndarray:
    """Move each (lon, lat) by a smooth function of where it is, in degrees: a border drawn
    by a surveyor follows streams and ridges, not straight lines. The same point always
    moves the same way, so borders shared by two communes stay shared."""
    x, y = coords[:, 0], coords[:, 1]
    dx = np.sin(y * 310.0) + 0.5 * np.sin(x * 970.0 + y * 530.0)
    dy = np.sin(x * 290.0) + 0.5 * np.sin(y * 1010.0 - x * 470.0)
    return coords + amplitude * np.column_stack([dx, dy]) / 1.5


def sample_progress(
    n_communes: int,
    n_villages: int,
    *,
    seed: int = 0,
    bbox: tuple[float, float, float, float] = PROVINCE_BOX,
    vertex_spacing: float = 0.0002,
) -> tuple[list[CommuneProgress], list[VillageMark]]:
    """Communes (Voronoi cells of random seeds, borders wiggled with a vertex every
    ``vertex_spacing`` degrees, about 22 m, like official outlines) and villages scattered in
    them with random statuses and people. Each commune's people and share come from its
    villages; a few communes get no village, hence no population data.
    """
    rng = np.random.default_rng(seed)
    west, south, east, north = bbox
    seeds = np.column_stack(
        [rng.uniform(west, east, n_communes), rng.uniform(south, north, n_communes)]
    )
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=box(*bbox))
    frame = box(*bbox)
    outlines = []
    for cell in cells.geoms:
        dense = shapely.segmentize(cell.intersection(frame), vertex_spacing)
        moved = shapely.transform(dense, lambda c: _wiggle(c, 0.0008))
        outlines.append(shapely.set_precision(moved, 1e-7))
    tree = shapely.STRtree(outlines)
    lon = rng.uniform(west, east, n_villages)
    lat = rng.uniform(south, north, n_villages)
    hits = tree.query(shapely.points(lon, lat), predicate="intersects")
    commune_of = dict(zip(hits[0].tolist(), hits[1].tolist(), strict=True))
    statuses = rng.choice(VILLAGE_STATUSES, n_villages, p=[0.1, 0.15, 0.6, 0.15])
    people = rng.integers(80, 1500, n_villages)
    villages = []
    totals = np.zeros((len(outlines), 2))
    counts: dict[tuple[int, str], int] = {}
    for i in range(n_villages):
        home = commune_of.get(i)
        status = str(statuses[i])
        dead_cells = 0 if status == "covered" else int(rng.integers(1, 7))
        dead_people = 0.0 if status == "covered" else float(people[i]) * dead_cells / 7
        villages.append(
            VillageMark(
                code=f"V{i:05d}",
                name=f"Buôn {i}",
                commune_code=None if home is None else f"C{home:03d}",
                population=int(people[i]),
                lat=float(lat[i]),
                lon=float(lon[i]),
                status=status,
                centre_status="dead"
                if status == "trang_song"
                else ("unknown" if status == "unknown" else "covered"),
                people_dead=dead_people,
                cells_dead=dead_cells,
                cells=7,
            )
        )
        if home is not None:
            totals[home] += (people[i], people[i] - dead_people if status != "unknown" else 0)
            counts[home, status] = counts.get((home, status), 0) + 1
    communes = [
        CommuneProgress(
            code=f"C{k:03d}",
            name=f"Xã {k}",
            geometry=outline,
            population=float(totals[k, 0]),
            people_covered=float(totals[k, 1]),
            covered_share=float(totals[k, 1] / totals[k, 0]) if totals[k, 0] > 0 else None,
            villages_trang_song=counts.get((k, "trang_song"), 0),
            villages_lom_song=counts.get((k, "lom_song"), 0),
            villages_covered=counts.get((k, "covered"), 0),
            villages_unknown=counts.get((k, "unknown"), 0),
            zones_open=counts.get((k, "trang_song"), 0) + counts.get((k, "lom_song"), 0),
        )
        for k, outline in enumerate(outlines)
    ]
    return communes, villages
