"""Where a new site can stand: the power grid and the roads (``deadzone import-constraints``).

Many of the villages still without signal have no grid power (DESIGN.md: 124 of 761 in
October 2024), and a mast needs power and a track for the crane. A planner imports the power
network (lines, or points such as substations and transformers) and the roads (lines) as
GeoJSON, GeoPackage or Shapefile; each layer is kept as the distance, in metres, from every
working-resolution cell centre to the nearest feature of the layer, for the cells within
``DEADZONE_CONSTRAINT_MAX_DISTANCE_M`` of one (``constraint_cells``). A plan then keeps
only the candidate cells within the asked distance of each asked layer
(``DEADZONE_PLAN_POWER_DISTANCE_M``, ``DEADZONE_PLAN_ROAD_DISTANCE_M`` by default, or per
request).

Distances are measured in the layer's local UTM zone (geopandas ``estimate_utm_crs``):
metres, within a fraction of a percent over a province. The cells computed are those of the
layer's extent (plus the largest distance kept), cut to the communes' extent when communes
are imported, so a national road file costs only the province's cells. Importing a layer
again replaces that kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import h3
import numpy as np
import shapely
from h3.api import basic_int
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.areas.boundaries import to_wgs84
from service.errors import InvalidInput
from service.settings import Settings
from service.store.bulk import copy_rows
from service.store.dialect import cells_in, dialect_name
from service.store.models import Commune, ConstraintCell, ConstraintLayer

if TYPE_CHECKING:  # geopandas is imported where files are read: it costs every command
    import geopandas as gpd  # start-up, and ``deadzone aggregate`` reads no file

Kind = Literal["power", "road"]
KINDS: Final[tuple[Kind, ...]] = ("power", "road")
# What each layer may hold: the power network as lines or as points (substations,
# transformers, electrified sites); roads as lines.
_ACCEPTED: Final[dict[str, frozenset[str]]] = {
    "power": frozenset({"LineString", "MultiLineString", "Point", "MultiPoint"}),
    "road": frozenset({"LineString", "MultiLineString"}),
}
_WORDS: Final = {"power": "grid power", "road": "a road"}
_METRES_PER_DEGREE: Final = 111_320.0  # of latitude (and of longitude at the equator)


@dataclass(frozen=True)
class Constraints:
    """What a plan asks of its candidate cells: the imported power network within
    ``power_m`` metres of the cell centre, a road within ``road_m``; None: not asked."""

    power_m: float | None = None
    road_m: float | None = None

    def asked(self) -> dict[str, float]:
        return {k: v for k, v in (("power", self.power_m), ("road", self.road_m)) if v is not None}

    def words(self) -> str:
        """'grid power within 200 m and a road within 1,000 m'."""
        return " and ".join(f"{_WORDS[k]} within {m:,.0f} m" for k, m in self.asked().items())


def asked_constraints(
    settings: Settings, *, power: bool, road: bool, power_distance: float | None = None,
    road_distance: float | None = None,
) -> Constraints:  # fmt: skip
    """The constraints of a request: a distance without its constraint is ``InvalidInput``
    (it would silently do nothing); an asked constraint without a distance takes the
    server's default."""
    for name, asked, distance in (("power", power, power_distance),
                                  ("road", road, road_distance)):  # fmt: skip
        if distance is not None and not asked:
            raise InvalidInput(
                f"{name}_distance applies only with {name}=true", field=f"{name}_distance"
            )
    return Constraints(
        power_m=(settings.plan_power_distance_m if power_distance is None else power_distance)
        if power else None,
        road_m=(settings.plan_road_distance_m if road_distance is None else road_distance)
        if road else None,
    )  # fmt: skip


@dataclass
class LayerImport:
    kind: str
    features: int
    skipped: int
    cells: int
    reprojected_from: str | None
    max_distance_m: float


def read_layer(
    path: Path, *, kind: str, layer: str | None = None
) -> tuple[gpd.GeoSeries, str | None]:
    """The file's geometries in WGS84, and the CRS they were reprojected from (None:
    degrees already). ``InvalidInput`` (one line) for a file that cannot be read, holds no
    geometry, or declares no CRS on projected numbers."""
    import geopandas as gpd

    if kind not in KINDS:
        raise InvalidInput(f"kind must be power or road, got {kind!r}", field="kind")
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio's DataSourceError, OSError...
        raise InvalidInput(f"cannot read {path.name}: {exc}", field="file") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.active_geometry_name is None:
        raise InvalidInput(
            f"{path.name} has no geometries: import-constraints reads lines (power lines, "
            "roads) or points (substations) from GeoJSON, GeoPackage or Shapefile",
            field="file",
        )
    frame, reprojected = to_wgs84(frame, path.name)
    return frame.geometry, reprojected


def import_layer(
    session: Session, settings: Settings, path: Path, *, kind: str, layer: str | None = None,
    now: datetime,
) -> LayerImport:  # fmt: skip
    """Read ``path`` as the ``kind`` layer and replace that kind's cells (module doc).
    Empty, missing or non-finite geometries are skipped and counted; geometries of another
    kind (a polygon for a road) refuse the whole file."""
    geometries, crs_before = read_layer(path, kind=kind, layer=layer)
    keep = np.array(
        [g is not None and not g.is_empty and bool(np.isfinite(shapely.get_coordinates(g)).all())
         for g in geometries.values],
        dtype=bool,
    )  # fmt: skip
    usable = geometries[keep]
    types = set(usable.geom_type)
    wrong = types - _ACCEPTED[kind]
    if wrong:
        accepted = "lines or points" if kind == "power" else "lines"
        raise InvalidInput(
            f"{path.name}: a {kind} layer holds {accepted}, found {', '.join(sorted(wrong))}",
            field="file",
        )
    if usable.empty:
        raise InvalidInput(f"{path.name}: no usable {kind} geometry in the file", field="file")
    reach = settings.constraint_max_distance_m
    cells, distances = cell_distances(
        usable, resolution=settings.h3_resolution, max_m=reach,
        clip=_communes_extent(session),
    )  # fmt: skip
    session.execute(delete(ConstraintCell).where(ConstraintCell.kind == kind))
    session.execute(delete(ConstraintLayer).where(ConstraintLayer.kind == kind))
    session.add(
        ConstraintLayer(
            kind=kind,
            source=path.name[:255],
            features=int(len(usable)),
            cells=int(cells.size),
            max_distance_m=reach,
            imported_at=now,
        )  # fmt: skip
    )
    session.flush()
    copy_rows(
        session.connection(), "constraint_cells", ["kind", "h3_cell", "distance_m"],
        zip([kind] * cells.size, cells.tolist(), np.round(distances, 1).tolist(), strict=True),
    )  # fmt: skip
    return LayerImport(kind, int(len(usable)), int((~keep).sum()), int(cells.size), crs_before,
                       reach)  # fmt: skip


def _communes_extent(session: Session) -> tuple[float, float, float, float] | None:
    geoms = session.scalars(select(Commune.geom)).all()
    if not geoms:
        return None
    west, south, east, north = shapely.total_bounds(np.asarray(geoms, dtype=object))
    return float(west), float(south), float(east), float(north)


def cell_distances(
    geometries: gpd.GeoSeries, *, resolution: int, max_m: float,
    clip: tuple[float, float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """H3 cells (integers) whose centre lies within ``max_m`` metres of a geometry (WGS84),
    with that distance (metres), for the geometries' extent grown by ``max_m`` and cut to
    ``clip`` (west, south, east, north degrees) when given."""
    import geopandas as gpd

    west, south, east, north = (float(v) for v in geometries.total_bounds)
    mid = (south + north) / 2.0
    grow_lat = max_m / _METRES_PER_DEGREE
    grow_lon = max_m / (_METRES_PER_DEGREE * max(np.cos(np.radians(mid)), 0.01))
    west, east = west - grow_lon, east + grow_lon
    south, north = south - grow_lat, north + grow_lat
    if clip is not None:
        west, south = max(west, clip[0] - grow_lon), max(south, clip[1] - grow_lat)
        east, north = min(east, clip[2] + grow_lon), min(north, clip[3] + grow_lat)
        if west >= east or south >= north:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
    box = h3.LatLngPoly([(south, west), (south, east), (north, east), (north, west)])
    cells = np.array(sorted(basic_int.polygon_to_cells(box, resolution)), dtype=np.int64)
    if cells.size == 0:
        return cells, np.zeros(0)
    centres = np.array([basic_int.cell_to_latlng(int(c)) for c in cells])
    utm = geometries.estimate_utm_crs()
    features = geometries.to_crs(utm).values
    points = gpd.GeoSeries(gpd.points_from_xy(centres[:, 1], centres[:, 0]), crs=geometries.crs)
    tree = shapely.STRtree(np.asarray(features))
    found, distance = tree.query_nearest(
        np.asarray(points.to_crs(utm).values), max_distance=max_m, return_distance=True,
        all_matches=False,
    )  # fmt: skip
    point_index = found[0]
    best = np.full(cells.size, np.inf)
    np.minimum.at(best, point_index, distance)
    near = np.isfinite(best)
    return cells[near], best[near]


def layers(session: Session) -> dict[str, dict[str, Any]]:
    """The imported layers by kind: source file, features, cells, when."""
    return {
        row.kind: {
            "source": row.source,
            "features": row.features,
            "cells": row.cells,
            "max_distance_m": row.max_distance_m,
            "imported_at": row.imported_at.isoformat(),
        }  # fmt: skip
        for row in session.scalars(select(ConstraintLayer))
    }


def check_constraints(session: Session, settings: Settings, constraints: Constraints) -> None:
    """Refuse a constraint whose layer is not imported, or a distance beyond those kept."""
    imported = set(session.scalars(select(ConstraintLayer.kind)))
    for kind, metres in constraints.asked().items():
        if kind not in imported:
            raise InvalidInput(
                f"no {kind} layer is imported: run deadzone import-constraints --kind {kind} "
                "FILE, or leave the constraint out",
                field=kind,
            )
        if not 0 <= metres <= settings.constraint_max_distance_m:
            raise InvalidInput(
                f"{kind} distance must be 0 to {settings.constraint_max_distance_m:,.0f} m "
                f"(the distances kept at import), got {metres:,.0f}",
                field=f"{kind}_distance",
            )


def keep_candidates(session: Session, candidates: list[str], constraints: Constraints) -> list[str]:
    """The candidate cells (H3 strings) that meet every asked constraint."""
    kept = {h3.str_to_int(c) for c in candidates}
    dialect = dialect_name(session)
    for kind, metres in constraints.asked().items():
        if not kept:
            break
        kept = {
            int(c)
            for c in session.scalars(
                select(ConstraintCell.h3_cell).where(
                    ConstraintCell.kind == kind,
                    ConstraintCell.distance_m <= metres,
                    cells_in(ConstraintCell.h3_cell, kept, dialect=dialect),
                )
            )
        }
    return [c for c in candidates if h3.str_to_int(c) in kept]
