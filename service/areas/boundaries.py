"""Areas: communes (polygons) and villages (points, optional cluster polygons) from GIS files.

``read_areas`` reads a GeoJSON, GeoPackage or Shapefile through geopandas/pyogrio and checks
it feature by feature; ``upsert_communes`` / ``upsert_villages`` store what passed, by code.

What a file must hold (column names are matched case-insensitively):

* communes: polygons or multipolygons; ``code`` and ``name``; optional ``population``.
* villages: points, or polygons (the residential cluster; the centre is then the ``lon``/``lat``
  columns when present, else a point inside the polygon), or multipoints (one point per
  residential cluster; the centre, the cultural house, must then be in ``lon``/``lat``);
  ``code`` and ``name``; optional ``commune`` (or ``commune_code``), ``population`` and
  ``facilities`` (schools, health stations... counted).
* clusters (``kind="cluster"``): the residential clusters of villages already imported, as
  points or polygons with a ``village`` (or ``village_code``, ``ma_thon``) column; several
  features of one village add up. They replace that village's cluster, so that lõm sóng
  (the centre has signal, a cluster does not) is judged on them.

A cluster given as a point stands for the working-resolution cell it lies in: the stored
cluster is that cell's hexagon, so that the village's cells are exactly the cells of its
cluster points (``service.areas.population.cluster_weights`` takes the cells whose centre a
cluster holds).

``kind="auto"`` takes a file with any point for villages (for clusters when it has a
``village`` column and no ``code``), a file of polygons for communes unless it has a
``commune`` column (then they are villages' clusters).

Checks, each naming the feature (``code`` or ``name``, else its row):

* CRS: a declared CRS other than WGS84 is reprojected to EPSG:4326 (e.g. VN-2000 / UTM 48N,
  EPSG:3405, or WGS84 / UTM 48N, EPSG:32648). A file without a CRS is taken as WGS84 degrees
  only if its coordinates fit degrees; projected-looking numbers (metres) are refused rather
  than guessed, since VN-2000 has a different zone per province and a wrong guess puts the
  villages kilometres away.
* Geometry: empty or missing geometries are refused; invalid ones (self-intersecting rings,
  bow-ties) are repaired with ``shapely.make_valid`` and kept if a polygon remains, else
  refused. A point with non-finite coordinates is refused.
* Values: a missing code is refused; a negative or non-numeric population is refused.

Names are stored as text, as given (surrounding whitespace trimmed): markup in a name stays
inert text here, and escaping it is the job of whoever draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import h3
import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from domain import vocabulary
from service.errors import InvalidInput
from service.store.dialect import upsert_insert
from service.store.models import Commune, Village
from service.store.spatial import WGS84

if TYPE_CHECKING:  # geopandas is imported where files are read: it costs every command
    import geopandas as gpd  # start-up, and ``deadzone aggregate`` reads no file

Kind = Literal["commune", "village", "cluster"]
KINDS: Final[tuple[str, ...]] = ("auto", "commune", "village", "cluster")
NAME_MAX: Final = 200
CODE_MAX: Final = 32
COUNT_MAX: Final = 2**31 - 1
"""Largest population or facility count a feature may give: the columns are 32-bit
integers (a few thousand times a province's people), and a larger number stopped the
whole import with the database's overflow error instead of refusing the feature."""
PROVINCE_AREA: Final = vocabulary.PROVINCE_AREA  # the whole province's area code in progress

_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "code": ("code", "ma", "id"),
    "name": ("name", "ten"),
    # Shapefile (dBase) field names stop at 10 characters: commune_code becomes commune_co.
    "commune": ("commune", "commune_code", "commune_co", "ma_xa"),
    "population": ("population", "pop", "dan_so"),
    "facilities": ("facilities",),
    "lon": ("lon", "lng", "longitude"),
    "lat": ("lat", "latitude"),
    # Shapefile: village_code becomes village_co.
    "village": ("village", "village_code", "village_co", "ma_thon"),
}


class AreaFileError(InvalidInput):
    """The file as a whole cannot be imported (unreadable, no CRS on projected numbers...)."""


@dataclass
class RejectedFeature:
    """A feature refused by the checks: which one, and why."""

    feature: str
    reason: str


@dataclass
class AreaImport:
    """What ``read_areas`` found: rows ready to store, repairs made, features refused."""

    kind: Kind
    rows: list[dict[str, Any]] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    rejected: list[RejectedFeature] = field(default_factory=list)
    reprojected_from: str | None = None


def read_areas(
    path: Path, *, kind: str = "auto", layer: str | None = None,
    resolution: int = 9,
) -> AreaImport:  # fmt: skip
    """Read and check a file of communes, villages or villages' clusters (module doc).
    ``resolution`` is the H3 resolution of a village's centre cell and of cluster points.
    Raises ``AreaFileError`` for the whole file."""
    import geopandas as gpd

    if kind not in KINDS:
        raise AreaFileError(
            f"kind must be {', '.join(KINDS[:-1])} or {KINDS[-1]}, got {kind!r}", field="kind"
        )
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises its own DataSourceError, OSError...
        raise AreaFileError(f"cannot read {path.name}: {exc}", field="file") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.active_geometry_name is None:
        # pyogrio reads a CSV (or any table) as a plain DataFrame: say what the command wants.
        raise AreaFileError(
            f"{path.name} has no geometries: import-areas reads communes (polygons) and "
            f"villages (points) from GeoJSON, GeoPackage or Shapefile; readings in CSV go to "
            f"`deadzone import`",
            field="file",
        )
    columns = _columns(frame)
    frame, reprojected = to_wgs84(frame, path.name)
    chosen = _kind_of(frame, columns, kind, path.name)
    result = AreaImport(kind=chosen, reprojected_from=reprojected)
    geometry_column = frame.geometry.name
    # Records keep the file's column names as they are (itertuples would rename "dân số"
    # or "class", which are not Python identifiers).
    for index, values in enumerate(frame.to_dict("records")):
        values["geometry"] = values.pop(geometry_column)
        label = _label(values, columns, index)
        try:
            if chosen == "commune":
                record = _commune_row(values, columns, label, result)
            elif chosen == "cluster":
                record = _cluster_row(values, columns, label, result, resolution)
            else:
                record = _village_row(values, columns, label, result, resolution)
        except _Refused as refused:
            result.rejected.append(RejectedFeature(label, str(refused)))
            continue
        result.rows.append(record)
    return result


class _Refused(Exception):
    pass


def _columns(frame: gpd.GeoDataFrame) -> dict[str, str]:
    """Our field name -> the file's column (first alias found, case-insensitive)."""
    lower = {str(c).lower(): str(c) for c in frame.columns if c != frame.geometry.name}
    found = {}
    for name, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in lower:
                found[name] = lower[alias]
                break
    return found


def to_wgs84(frame: gpd.GeoDataFrame, filename: str) -> tuple[gpd.GeoDataFrame, str | None]:
    """``frame`` in WGS84 and the CRS it was reprojected from (None: already degrees), by
    the CRS rules of the module doc. Raises ``AreaFileError`` for projected numbers
    without a CRS."""
    if frame.empty or frame.geometry.isna().all():
        return (frame.set_crs(WGS84) if frame.crs is None else frame), None
    crs = None if frame.crs is None else CRS.from_user_input(frame.crs)
    if crs is None or crs.is_geographic:
        # No CRS (a Shapefile without .prj), or degrees by declaration: a GeoJSON without a
        # "crs" member is read as WGS84 (RFC 7946), whatever numbers it holds.
        minx, miny, maxx, maxy = frame.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            said = "declares no CRS" if crs is None else f"is read as {crs.name}"
            raise AreaFileError(
                f"{filename} {said} but its coordinates look projected (x "
                f"{minx:,.0f}..{maxx:,.0f}, y {miny:,.0f}..{maxy:,.0f}), not degrees: declare "
                "its CRS (e.g. EPSG:3405 VN-2000 / UTM 48N) or reproject it to EPSG:4326",
                field="crs",
            )
    if crs is None:
        return frame.set_crs(WGS84), None
    if crs.equals(CRS.from_epsg(WGS84), ignore_axis_order=True):
        return frame, None
    return frame.to_crs(WGS84), crs.to_string()


def _kind_of(frame: gpd.GeoDataFrame, columns: dict[str, str], kind: str, filename: str) -> Kind:
    if kind in ("commune", "village", "cluster"):
        return kind  # type: ignore[return-value]
    types = set(frame.geometry.dropna().geom_type)
    if types and types <= {"Point", "MultiPoint", "Polygon", "MultiPolygon"}:
        if "village" in columns and "code" not in columns:
            return "cluster"
        # Communes are never points; cluster polygons of villages name their commune,
        # communes do not.
        if types & {"Point", "MultiPoint"} or "commune" in columns:
            return "village"
        return "commune"
    raise AreaFileError(
        f"{filename}: cannot tell communes from villages (geometry types "
        f"{sorted(types) or 'none'}); pass --kind commune or --kind village",
        field="kind",
    )


def _label(values: dict[str, Any], columns: dict[str, str], index: int) -> str:
    for key in ("code", "name"):
        text = _text(values.get(columns.get(key, "")))
        if text:
            return f"{key} {text!r}"
    return f"feature {index + 1}"


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a numeric code column read as float
    text = str(value).strip()
    return text or None


def _required_text(values: dict[str, Any], columns: dict[str, str], key: str, limit: int) -> str:
    text = _text(values.get(columns.get(key, "")))
    if text is None:
        raise _Refused(f"no {key}")
    if len(text) > limit:
        raise _Refused(f"{key} longer than {limit} characters")
    return text


def _count(values: dict[str, Any], columns: dict[str, str], key: str) -> int | None:
    raw = values.get(columns.get(key, ""))
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw == "":
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise _Refused(f"{key} {raw!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise _Refused(f"{key} {raw!r} must be a number >= 0")
    if number > COUNT_MAX:
        raise _Refused(f"{key} {raw!r} is larger than {COUNT_MAX:,}")
    return round(number)


def _polygonal(geometry: BaseGeometry | None, label: str, result: AreaImport) -> MultiPolygon:
    """The geometry as a valid MultiPolygon, repairing it if needed (noted in ``result``)."""
    if geometry is None or geometry.is_empty:
        raise _Refused("empty or missing geometry")
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise _Refused(f"geometry is a {geometry.geom_type}, expected a polygon")
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        geometry = shapely.make_valid(geometry)
        parts = [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon) and g.area > 0]
        if not parts:
            raise _Refused(f"invalid polygon ({reason}) with no area left after repair")
        result.repaired.append(f"{label}: {reason}")
        return MultiPolygon(parts) if len(parts) > 1 else MultiPolygon([parts[0]])
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    assert isinstance(geometry, MultiPolygon)
    return geometry


def _commune_row(
    values: dict[str, Any], columns: dict[str, str], label: str, result: AreaImport
) -> dict[str, Any]:
    code = _required_text(values, columns, "code", CODE_MAX)
    if code.casefold() == PROVINCE_AREA:
        # Progress keeps the province's rows under this code (service.areas.progress.PROVINCE).
        raise _Refused(f"code {code!r} is reserved for the whole province")
    return {
        "code": code,
        "name": _required_text(values, columns, "name", NAME_MAX),
        "population": _count(values, columns, "population"),
        "geom": _polygonal(values.get("geometry"), label, result),
    }


def _village_row(
    values: dict[str, Any], columns: dict[str, str], label: str, result: AreaImport,
    resolution: int,
) -> dict[str, Any]:  # fmt: skip
    geometry: BaseGeometry | None = values.get("geometry")
    cluster = None
    if geometry is None or geometry.is_empty:
        raise _Refused("empty or missing geometry")
    if isinstance(geometry, MultiPoint) and len(geometry.geoms) == 1:
        geometry = geometry.geoms[0]
    if isinstance(geometry, Point):
        centre = geometry
    elif isinstance(geometry, MultiPoint):
        # One point per residential cluster: the centre (cultural house) must be given.
        cluster = _point_cells(geometry, resolution)
        try:
            centre = Point(float(values[columns["lon"]]), float(values[columns["lat"]]))
        except (KeyError, TypeError, ValueError):
            raise _Refused(
                "a multipoint is the village's residential clusters: give its centre (the "
                "cultural house) in lon and lat columns"
            ) from None
        if not (math.isfinite(centre.x) and math.isfinite(centre.y)):
            raise _Refused("lon/lat of the centre are not numbers")
    elif geometry.geom_type in ("Polygon", "MultiPolygon"):
        cluster = _polygonal(geometry, label, result)
        lon = values.get(columns.get("lon", ""))
        lat = values.get(columns.get("lat", ""))
        try:
            centre = Point(float(lon), float(lat))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            centre = cluster.representative_point()
    else:
        raise _Refused(f"geometry is a {geometry.geom_type}, expected a point or polygon")
    lon, lat = centre.x, centre.y
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise _Refused(f"centre ({lon}, {lat}) is not a WGS84 position")
    commune = _text(values.get(columns.get("commune", "")))
    return {
        "code": _required_text(values, columns, "code", CODE_MAX),
        "name": _required_text(values, columns, "name", NAME_MAX),
        "commune_code": commune[:CODE_MAX] if commune else None,
        "population": _count(values, columns, "population"),
        "facilities": _count(values, columns, "facilities"),
        "lat": lat,
        "lon": lon,
        "h3_cell": h3.str_to_int(h3.latlng_to_cell(lat, lon, resolution)),
        "geom": Point(lon, lat),
        "cluster": cluster,
    }


def _point_cells(points: Point | MultiPoint, resolution: int) -> MultiPolygon:
    """The hexagons of the working-resolution cells holding ``points`` (module doc)."""
    cells = set()
    for point in shapely.get_parts(points):
        if not (math.isfinite(point.x) and math.isfinite(point.y)
                and -180 <= point.x <= 180 and -90 <= point.y <= 90):  # fmt: skip
            raise _Refused(f"point ({point.x}, {point.y}) is not a WGS84 position")
        cells.add(h3.latlng_to_cell(point.y, point.x, resolution))
    return MultiPolygon(
        [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in sorted(cells)]
    )


def _cluster_row(
    values: dict[str, Any], columns: dict[str, str], label: str, result: AreaImport,
    resolution: int,
) -> dict[str, Any]:  # fmt: skip
    if "village" not in columns:
        raise _Refused("no village column names the village this cluster belongs to")
    village = _required_text(values, columns, "village", CODE_MAX)
    geometry: BaseGeometry | None = values.get("geometry")
    if geometry is None or geometry.is_empty:
        raise _Refused("empty or missing geometry")
    if isinstance(geometry, Point | MultiPoint):
        cluster = _point_cells(geometry, resolution)
    else:
        cluster = _polygonal(geometry, label, result)
    return {"village": village, "label": label, "cluster": cluster}


def attach_clusters(session: Session, found: AreaImport) -> int:
    """Set the cluster of each village named in ``found`` (kind cluster) to the union of
    its features; a feature naming no stored village is moved to ``found.rejected``.
    Returns the number of villages updated. Does not commit."""
    known = set(session.scalars(select(Village.code)))
    parts: dict[str, list[BaseGeometry]] = {}
    for row in found.rows:
        if row["village"] not in known:
            found.rejected.append(RejectedFeature(
                row["label"], f"village {row['village']!r} is not imported (import the "
                "villages first)"))  # fmt: skip
            continue
        parts.setdefault(row["village"], []).append(row["cluster"])
    for code, geometries in parts.items():
        union = shapely.union_all(geometries)
        polygons = [g for g in shapely.get_parts(union) if isinstance(g, Polygon)]
        village = session.get(Village, code)
        assert village is not None
        village.cluster = MultiPolygon(polygons)  # type: ignore[assignment]
    found.rows = [r for r in found.rows if r["village"] in known]
    return len(parts)


def upsert_areas(session: Session, found: AreaImport, *, now: datetime) -> tuple[int, int]:
    """Insert or update ``found.rows`` by code; returns (inserted, updated). A code twice in
    the file: the later feature wins. Does not commit."""
    table: Table = (Commune if found.kind == "commune" else Village).__table__  # type: ignore[assignment]
    rows = {row["code"]: {**row, "imported_at": now} for row in found.rows}
    if not rows:
        return 0, 0
    existing = set(session.scalars(table.select().with_only_columns(table.c.code)))
    stmt = upsert_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name != "code"},
    )
    session.execute(stmt, list(rows.values()))
    updated = len(existing & rows.keys())
    return len(rows) - updated, updated


def cells_to_communes(session: Session, cells: list[int]) -> dict[int, str]:
    """The commune holding each cell's centre (cells outside every commune are left out)."""
    communes = session.execute(select(Commune.code, Commune.geom)).all()
    if not communes or not cells:
        return {}
    tree = shapely.STRtree([g for _, g in communes])
    latlng = np.array([h3.cell_to_latlng(h3.int_to_str(c)) for c in cells])
    points = shapely.points(latlng[:, 1], latlng[:, 0])
    point_index, poly_index = tree.query(points, predicate="within")
    return {
        cells[p]: communes[g][0]
        for p, g in zip(point_index.tolist(), poly_index.tolist(), strict=True)
    }
