"""Where people live, on the working H3 grid: ``village_cells`` and ``cell_population``.

Without a raster, each village's population is spread over its *village cells*:

* with a cluster polygon: the cells whose centre lies in the polygon, all with the same
  weight (a residential cluster is taken as evenly settled); the centre cell is a village
  cell too, with no people of its own if it lies outside the cluster. A cluster too small
  to hold any cell centre puts everyone in the centre cell.
* without one: the centre cell and ``village_disk_rings`` rings of neighbours around it,
  each ring half the weight *per cell* of the ring inside (centre 1, ring 1: 1/2, ring 2:
  1/4). With the default single ring the centre holds 1/4 of the people and each neighbour
  1/8; the 7 cells cover about 0.74 km², what some 1,100 people occupy at the 1,500
  people/km² of a rural residential cluster (``simulation.areas``).

People are whole persons: a village's total is split by the largest-remainder (Hamilton)
method, so the cells of a village sum *exactly* to its imported population, and the grid
to the sum of the villages. Cells of several villages add up.

With ``deadzone import-population`` (a WorldPop-style GeoTIFF of people per pixel) the
raster replaces the villages' people in ``cell_population`` (each pixel's people go to the
cell holding the pixel centre; fractional people kept), while village cells stay as above
for village statuses. Each populated cell is given to the commune holding its centre,
else to the commune of the village that put most people there.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Final

import h3
import numpy as np
from h3.api import basic_int as h3i
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from service.areas.boundaries import cells_to_communes
from service.errors import InvalidInput
from service.settings import Settings
from service.store.bulk import copy_rows
from service.store.models import CellPopulation, Village, VillageCell
from service.store.versions import note_areas_changed, note_people_changed

VILLAGES: Final = "villages"
RASTER: Final = "raster"


def disk_weights(centre: str, rings: int) -> dict[str, float]:
    """Weight per cell of a village without cluster: 2**-k for a cell k rings out."""
    weights = {centre: 1.0}
    for ring in range(1, rings + 1):
        for cell in h3.grid_ring(centre, ring):
            weights[cell] = 0.5**ring
    return weights


def cluster_weights(centre: str, cluster: BaseGeometry, resolution: int) -> dict[str, float]:
    """Equal weights over the cells whose centre lies in ``cluster`` (WGS84); the centre
    cell gets weight 0 when outside the cluster, 1 when the cluster holds no cell centre."""
    cells = h3.geo_to_cells(cluster, resolution)
    if not cells:
        return {centre: 1.0}
    weights = dict.fromkeys(cells, 1.0)
    weights.setdefault(centre, 0.0)
    return weights


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` whole people in proportion to ``weights``; sums exactly to ``total``.

    Floors first, then one more person to the largest remainders (ties: first in order).
    All-zero weights put everyone in the first slot.
    """
    if not weights:
        return []
    weight_sum = math.fsum(weights)
    if weight_sum <= 0:
        return [total] + [0] * (len(weights) - 1)
    quotas = [total * w / weight_sum for w in weights]
    floors = [math.floor(q) for q in quotas]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def village_cell_people(
    *, centre: str, cluster: BaseGeometry | None, population: int | None, resolution: int,
    rings: int,
) -> list[tuple[int, bool, float]]:  # fmt: skip
    """A village's cells as (cell int, is centre, people), in cell order (module doc)."""
    if cluster is not None:
        weights = cluster_weights(centre, cluster, resolution)
    else:
        weights = disk_weights(centre, rings)
    cells = sorted(weights)
    people = largest_remainder(population or 0, [weights[c] for c in cells])
    return [(h3.str_to_int(c), c == centre, float(p)) for c, p in zip(cells, people, strict=True)]


def rebuild_population(session: Session, settings: Settings) -> dict[str, float]:
    """Recompute ``village_cells`` from the stored villages, ``cell_population`` from them
    (unless a raster was imported), and every populated cell's commune. Does not commit.
    Returns totals: villages' people, people on the grid."""
    resolution = settings.h3_resolution
    villages = session.execute(
        select(Village.code, Village.lat, Village.lon, Village.population, Village.cluster)
    ).all()
    rows: list[tuple[str, int, bool, float]] = []
    village_people: dict[int, float] = defaultdict(float)
    top_village: dict[int, tuple[float, str]] = {}
    for code, lat, lon, population, cluster in villages:
        centre = h3.latlng_to_cell(lat, lon, resolution)
        cells = village_cell_people(
            centre=centre, cluster=cluster, population=population, resolution=resolution,
            rings=settings.village_disk_rings,
        )  # fmt: skip
        for cell, is_centre, people in cells:
            rows.append((code, cell, is_centre, people))
            village_people[cell] += people
            if people > top_village.get(cell, (-1.0, ""))[0]:
                top_village[cell] = (people, code)
    session.execute(delete(VillageCell))
    copy_rows(session.connection(), "village_cells", ["village_code", "h3_cell", "centre",
                                                      "people"], rows)  # fmt: skip
    raster = {
        int(cell): float(people)
        for cell, people in session.execute(
            select(CellPopulation.h3_cell, CellPopulation.people).where(
                CellPopulation.source == RASTER
            )
        )
    }
    if raster:
        grid, source = raster, RASTER
    else:
        grid, source = {c: p for c, p in village_people.items() if p > 0}, VILLAGES
    # Rewritten whole with each cell's commune: one COPY is far cheaper than updating
    # 100,000 rows one by one.
    communes = _village_communes(session, top_village)
    communes.update(cells_to_communes(session, sorted(grid)))
    session.execute(delete(CellPopulation))
    _store_cells(session, grid, source, communes)
    total = session.scalar(select(func.coalesce(func.sum(CellPopulation.people), 0.0)))
    note_areas_changed(session)  # kept task lists and pages are planned again
    note_people_changed(session)  # and the zones' people with the next run, a full one
    return {
        "village_people": float(sum(p or 0 for *_, p, _c in villages)),
        "grid_people": float(total or 0.0),
    }


def _village_communes(
    session: Session, top_village: dict[int, tuple[float, str]]
) -> dict[int, str]:
    commune_of: dict[str, str] = {
        code: commune
        for code, commune in session.execute(select(Village.code, Village.commune_code))
        if commune is not None
    }
    return {cell: commune_of[code] for cell, (_, code) in top_village.items() if code in commune_of}


def _store_cells(
    session: Session, people: dict[int, float], source: str, communes: dict[int, str]
) -> None:
    rows = [(cell, p, source, communes.get(cell)) for cell, p in sorted(people.items())]
    copy_rows(session.connection(), "cell_population",
              ["h3_cell", "people", "source", "commune_code"], rows)  # fmt: skip


def import_population_raster(session: Session, settings: Settings, path: Path) -> float:
    """Replace ``cell_population`` with a GeoTIFF of people per pixel (WorldPop style):
    each pixel's people go to the working cell holding the pixel centre. Pixels equal to
    the nodata value, negative or not finite are skipped. Any CRS: pixel centres are
    transformed to WGS84. Returns the people stored. Does not commit.

    Needs rasterio (``pip install rasterio``), an optional dependency."""
    try:
        import rasterio
        from rasterio.transform import xy
    except ImportError:
        raise InvalidInput(
            "reading a population raster needs rasterio: pip install rasterio", field="raster"
        ) from None
    try:
        dataset = rasterio.open(path)
    except Exception as exc:  # rasterio.errors.RasterioIOError and friends
        raise InvalidInput(f"cannot read {path.name}: {exc}", field="raster") from None
    with dataset:
        if dataset.crs is None:
            raise InvalidInput(
                f"{path.name} declares no CRS; WorldPop rasters are EPSG:4326", field="crs"
            )
        band = dataset.read(1, masked=True).astype(np.float64)
        values = np.ma.filled(band, np.nan)
        rows, cols = np.nonzero(np.isfinite(values) & (values > 0))
        people = values[rows, cols]
        xs, ys = xy(dataset.transform, rows, cols, offset="center")
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        if not dataset.crs.is_geographic or dataset.crs.to_epsg() != 4326:
            from pyproj import Transformer

            transformer = Transformer.from_crs(dataset.crs, "EPSG:4326", always_xy=True)
            xs, ys = transformer.transform(xs, ys)
    per_cell: dict[int, float] = defaultdict(float)
    resolution = settings.h3_resolution
    for lon, lat, p in zip(xs.tolist(), ys.tolist(), people.tolist(), strict=True):
        per_cell[h3i.latlng_to_cell(lat, lon, resolution)] += p
    session.execute(delete(CellPopulation))
    _store_cells(session, dict(per_cell), RASTER, {})
    rebuild_population(session, settings)  # village cells and communes; keeps the raster
    return float(math.fsum(per_cell.values()))
