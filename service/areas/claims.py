"""Claimed coverage: the coverage an operator says it provides, as working-resolution cells.

Operators file coverage maps with the regulator; deadzone compares them with measurements
(``service.areas.challenges``). A claim is read from:

* polygons (GeoJSON, GeoPackage, Shapefile; any declared CRS, reprojected to WGS84 as
  ``service.areas.boundaries`` does): a cell is claimed when its centre lies inside a
  polygon (H3's own polygon fill rule, ``h3.geo_to_cells``);
* a GeoTIFF of 0/1 pixels (1: covered, 0 or nodata: not covered), in any CRS: a cell is
  claimed when the pixel holding its centre is 1. Sampling at cell centres (rather than
  spreading pixel centres into cells) works for any pixel size, 30 m or 1 km.

The newest claim of an operator and radio replaces the previous one's cells; every import
is kept in ``claims`` and in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import geopandas as gpd
import h3
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from domain.vocabulary import is_operator_code
from service.areas import audit
from service.areas.boundaries import to_wgs84
from service.errors import InvalidInput
from service.store.bulk import copy_rows
from service.store.models import Claim, ClaimedCell

CLAIM_RADIOS: Final = ("lte", "nr", "broadband")
"""What a claim may be for: one technology, or 'broadband' (4G or better, the province's
promise in DESIGN.md)."""
RASTER_SUFFIXES: Final = (".tif", ".tiff")
MAX_CLAIM_CELLS: Final = 5_000_000  # a national claim is about 3 M cells (DESIGN.md "Scale")


class ClaimFileError(InvalidInput):
    """The claim file cannot be used (unreadable, no polygons, not 0/1, no CRS...)."""


@dataclass
class ClaimImport:
    operator: str
    radio: str
    source: str
    cells: list[int]
    polygons: int = 0
    reprojected_from: str | None = None


def check_claim_scope(operator: str, radio: str) -> None:
    if not is_operator_code(operator):
        raise ClaimFileError(
            f"operator must be an MCC-MNC such as 452-04, got {operator!r}", field="operator"
        )
    if radio not in CLAIM_RADIOS:
        raise ClaimFileError(
            f"radio must be one of {', '.join(CLAIM_RADIOS)}, got {radio!r}", field="radio"
        )


def read_claim(path: Path, *, operator: str, radio: str, resolution: int) -> ClaimImport:
    """The working cells a claim file covers (module doc). Raises ``ClaimFileError``."""
    check_claim_scope(operator, radio)
    if not path.exists():
        raise ClaimFileError(f"{path.name}: no such file", field="file")
    if path.suffix.lower() in RASTER_SUFFIXES:
        cells, reprojected = _raster_cells(path, resolution)
        found = ClaimImport(operator, radio, path.name, cells, reprojected_from=reprojected)
    else:
        found = _polygon_cells(path, operator, radio, resolution)
    if not found.cells:
        raise ClaimFileError(
            f"{path.name}: no working cell (H3 resolution {resolution}, about 0.1 km2) has its "
            "centre inside the claimed coverage; is the file empty or in the wrong place?",
            field="file",
        )
    if len(found.cells) > MAX_CLAIM_CELLS:
        raise ClaimFileError(
            f"{path.name}: {len(found.cells):,} cells claimed, more than {MAX_CLAIM_CELLS:,} "
            "(a whole country); split the file",
            field="file",
        )
    return found


def _polygon_cells(path: Path, operator: str, radio: str, resolution: int) -> ClaimImport:
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio's DataSourceError, OSError...
        raise ClaimFileError(f"cannot read {path.name}: {exc}", field="file") from None
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise ClaimFileError(f"{path.name} holds no geometry", field="file")
    kinds = set(frame.geometry.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        other = sorted(kinds - {"Polygon", "MultiPolygon"})
        raise ClaimFileError(
            f"{path.name}: claimed coverage must be polygons, found {', '.join(other)}",
            field="geometry",
        )
    frame, reprojected = to_wgs84(frame, path.name)
    cells: set[int] = set()
    polygons = 0
    for geometry in frame.geometry:
        valid = shapely.make_valid(geometry)  # bow-ties and self-intersections repaired
        for part in getattr(valid, "geoms", [valid]):
            if isinstance(part, Polygon | MultiPolygon) and not part.is_empty:
                polygons += 1
                cells.update(
                    h3.str_to_int(c) for c in h3.geo_to_cells(part.__geo_interface__, resolution)
                )
    return ClaimImport(
        operator, radio, path.name, sorted(cells), polygons=polygons, reprojected_from=reprojected
    )


def _raster_cells(path: Path, resolution: int) -> tuple[list[int], str | None]:
    import rasterio
    from pyproj import Transformer
    from rasterio.warp import transform_bounds

    try:
        dataset = rasterio.open(path)
    except Exception as exc:  # rasterio.errors.RasterioIOError and friends
        raise ClaimFileError(f"cannot read {path.name}: {exc}", field="file") from None
    with dataset:
        if dataset.crs is None:
            raise ClaimFileError(
                f"{path.name} declares no CRS: give the GeoTIFF one (e.g. EPSG:4326)",
                field="crs",
            )
        band = dataset.read(1, masked=True)
        values = np.unique(np.ma.compressed(band))
        odd = [v for v in values.tolist() if v not in (0, 1)]
        if odd:
            shown = ", ".join(f"{v:g}" for v in odd[:5])
            raise ClaimFileError(
                f"{path.name}: a claim raster holds 0 (not covered) and 1 (covered) only; "
                f"found {shown}",
                field="raster",
            )
        covered = np.ma.filled(band, 0) == 1
        west, south, east, north = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds)
        area = box(west, south, east, north).__geo_interface__
        cells = np.array([h3.str_to_int(c) for c in h3.geo_to_cells(area, resolution)])
        if len(cells) == 0:
            return [], None
        centres = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells])
        lons, lats = centres[:, 1], centres[:, 0]
        geographic = dataset.crs.is_geographic and dataset.crs.to_epsg() == 4326
        if not geographic:
            to_raster = Transformer.from_crs("EPSG:4326", dataset.crs, always_xy=True)
            lons, lats = to_raster.transform(lons, lats)
        rows, cols = rasterio.transform.rowcol(dataset.transform, lons, lats)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < dataset.height) & (cols >= 0) & (cols < dataset.width)
        claimed = np.zeros(len(cells), dtype=bool)
        claimed[inside] = covered[rows[inside], cols[inside]]
        reprojected = None if geographic else dataset.crs.to_string()
    return sorted(int(c) for c in cells[claimed]), reprojected


def store_claim(session: Session, found: ClaimImport, *, actor: str, now: datetime) -> Claim:
    """Replace the operator's claimed cells for the radio with ``found``; keep the claim
    and an audit row. Does not commit."""
    claim = Claim(
        operator=found.operator, radio=found.radio, source=found.source[:255],
        cells=len(found.cells), imported_at=now, imported_by=actor,
    )  # fmt: skip
    session.add(claim)
    session.flush()
    mine = (ClaimedCell.operator == found.operator, ClaimedCell.radio == found.radio)
    replaced = session.scalar(select(func.count()).select_from(ClaimedCell).where(*mine))
    session.execute(delete(ClaimedCell).where(*mine))
    copy_rows(
        session.connection(), "claimed_cells", ["operator", "radio", "h3_cell", "claim_id"],
        ((found.operator, found.radio, cell, claim.id) for cell in found.cells),
    )  # fmt: skip
    audit.record(
        session, actor=actor, action="imported",
        subject=audit.claim_subject(found.operator, found.radio),
        detail={"claim_id": claim.id, "source": found.source, "cells": len(found.cells),
                "cells_replaced": int(replaced or 0)},
        now=now,
    )  # fmt: skip
    return claim
