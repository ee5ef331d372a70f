"""The elevation model site plans see the relief with (``deadzone import-terrain``).

An SRTM or Copernicus GLO-30 style GeoTIFF (heights above sea level, metres, any CRS) is
reprojected to WGS84 (bilinear) and clipped to the communes' extent plus
``MARGIN_DEGREES`` (sites near the edge see beyond it), then kept as one GeoTIFF at
``DEADZONE_TERRAIN_PATH``. A plan then samples the ground along the path from each candidate
site to each target (``profiles``) and adds the diffraction loss of the relief (ITU-R
P.526-15 Deygout, ``domain.propagation.deygout_loss_db``) to the Hata median. Without the
file, plans say "flat terrain".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.settings import Settings
from service.store.models import Commune

MARGIN_DEGREES: Final = 0.3  # about 33 km: a site's reach beyond the province's edge
WGS84: Final = "EPSG:4326"


@dataclass(frozen=True)
class Terrain:
    """Heights (metres above sea level) on a WGS84 grid: row 0 is the north edge."""

    heights: np.ndarray
    west: float
    north: float
    dx: float  # degrees per column
    dy: float  # degrees per row (positive)
    name: str

    def height_at(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Nearest-pixel heights; outside the grid or no-data: 0 m (sea level)."""
        col = np.floor((lon - self.west) / self.dx).astype(np.int64)
        row = np.floor((self.north - lat) / self.dy).astype(np.int64)
        inside = (row >= 0) & (row < self.heights.shape[0]) & (col >= 0) & (
            col < self.heights.shape[1])  # fmt: skip
        out = np.zeros(np.shape(lat), dtype=np.float64)
        out[inside] = self.heights[row[inside], col[inside]]
        return np.nan_to_num(out, nan=0.0)


def load_terrain(settings: Settings) -> Terrain | None:
    """The imported elevation model, or None (flat terrain)."""
    path = settings.terrain_path
    if not path.exists():
        return None
    import rasterio

    with rasterio.open(path) as source:
        heights = source.read(1, masked=True).astype(np.float64).filled(np.nan)
        transform = source.transform
    return Terrain(heights, transform.c, transform.f, transform.a, -transform.e, path.name)


def import_terrain(session: Session, settings: Settings, source: Path) -> dict[str, Any]:
    """Reproject and clip ``source`` (module doc) into ``settings.terrain_path``; returns
    its size, extent and height range. Clear errors for a file that is not a raster, has no
    CRS, or does not overlap the communes."""
    try:
        import rasterio
        from rasterio.warp import Resampling, calculate_default_transform, reproject
        from rasterio.windows import from_bounds
    except ImportError:  # pragma: no cover - rasterio is a dependency
        raise InvalidInput("importing terrain needs rasterio", field="terrain") from None
    try:
        dem = rasterio.open(source)
    except (rasterio.errors.RasterioIOError, OSError) as exc:
        raise InvalidInput(
            f"{source.name}: not a readable GeoTIFF ({exc})", field="terrain"
        ) from None
    with dem:
        if dem.crs is None:
            raise InvalidInput(f"{source.name}: the raster has no CRS; give it one (gdal_edit "
                               "-a_srs EPSG:4326) and import again", field="terrain")  # fmt: skip
        transform, width, height = calculate_default_transform(
            dem.crs, WGS84, dem.width, dem.height, *dem.bounds
        )
        full = np.full((height, width), np.nan, dtype=np.float32)
        reproject(
            rasterio.band(dem, 1), full, src_transform=dem.transform, src_crs=dem.crs,
            src_nodata=dem.nodata, dst_transform=transform, dst_crs=WGS84, dst_nodata=np.nan,
            resampling=Resampling.bilinear,
        )  # fmt: skip
    communes = session.scalars(select(Commune.geom)).all()
    west, south = transform.c, transform.f + transform.e * height
    east, north = transform.c + transform.a * width, transform.f
    if communes:
        minx, miny, maxx, maxy = shapely.total_bounds(list(communes))
        clip = (max(west, minx - MARGIN_DEGREES), max(south, miny - MARGIN_DEGREES),
                min(east, maxx + MARGIN_DEGREES), min(north, maxy + MARGIN_DEGREES))  # fmt: skip
        if clip[0] >= clip[2] or clip[1] >= clip[3]:
            raise InvalidInput(
                f"{source.name} covers {west:.3f},{south:.3f},{east:.3f},{north:.3f} "
                "(lon/lat), which does not overlap the imported communes",
                field="terrain",
            )
        window = from_bounds(*clip, transform=transform).round_offsets().round_lengths()
        row0, col0 = max(0, window.row_off), max(0, window.col_off)
        full = full[row0 : row0 + window.height, col0 : col0 + window.width]
        transform = transform @ transform.translation(col0, row0)
    if full.size == 0 or bool(np.all(np.isnan(full))):
        raise InvalidInput(f"{source.name}: no height inside the area", field="terrain")
    target = settings.terrain_path
    with rasterio.open(
        target, "w", driver="GTiff", width=full.shape[1], height=full.shape[0], count=1,
        dtype="float32", crs=WGS84, transform=transform, nodata=np.nan, compress="deflate",
    ) as out:  # fmt: skip
        out.write(full, 1)
    return {
        "path": str(target),
        "width": int(full.shape[1]),
        "height": int(full.shape[0]),
        "min_m": round(float(np.nanmin(full)), 1),
        "max_m": round(float(np.nanmax(full)), 1),
    }


PROFILE_SAMPLES: Final = 48  # points along a path; 30 m DEM, paths of a few km: 100-200 m apart


def profiles(
    terrain: Terrain, start: np.ndarray, end: np.ndarray, *, samples: int = PROFILE_SAMPLES
) -> np.ndarray:
    """Ground heights along straight lines from ``start`` to ``end`` ((n, 2) arrays of
    lat, lon), ``samples`` points each, ends included: (n, samples) metres."""
    t = np.linspace(0.0, 1.0, samples)[None, :]
    lat = start[:, :1] + (end[:, :1] - start[:, :1]) * t
    lon = start[:, 1:2] + (end[:, 1:2] - start[:, 1:2]) * t
    return terrain.height_at(lat, lon)
