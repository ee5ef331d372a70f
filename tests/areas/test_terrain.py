"""deadzone import-terrain and plans over the relief: a DEM in UTM is reprojected and
clipped; a ridge between a known mast and a village stops the mast covering it."""

from __future__ import annotations

from datetime import UTC, datetime

import h3
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point, box
from typer.testing import CliRunner

from service.cli import app as cli
from service.store.database import session_scope
from service.store.models import Site
from tests.areas.conftest import CENTRE, LAT, LON, import_areas, open_zone, put_statuses, village
from tests.areas.conftest import write_layer as write

MAST = (LAT + 0.027, LON)  # 3 km north of the village


def write_dem(path, *, ridge_m: float, crs: str | None = "EPSG:4326"):
    """A 0.1 x 0.1 degree DEM around the village, 0.001 degree pixels, flat at 400 m
    with an east-west ridge half way between the village and the mast."""
    heights = np.full((100, 100), 400.0, dtype=np.float32)
    north, west = LAT + 0.05, LON - 0.05
    ridge_row = int((north - (LAT + 0.0135)) / 0.001)
    heights[ridge_row - 1 : ridge_row + 2, :] += ridge_m
    with rasterio.open(path, "w", driver="GTiff", width=100, height=100, count=1,
                       dtype="float32", crs=crs, transform=from_origin(west, north, 0.001, 0.001),
                       ) as out:  # fmt: skip
        out.write(heights, 1)
    return path


@pytest.fixture
def village_behind_a_ridge(tmp_path, settings, sessions):
    square = box(LON - 0.04, LAT - 0.04, LON + 0.04, LAT + 0.04)
    commune = {"code": "C1", "name": "Ea Ktur", "geometry": square}
    import_areas(sessions, settings, write(tmp_path / "c.geojson", [commune]))
    import_areas(sessions, settings, write(tmp_path / "v.geojson", [village("V1", "A", CENTRE,
                                                                             800)]))  # fmt: skip
    disk = sorted(h3.grid_disk(CENTRE, 1))
    put_statuses(sessions, dict.fromkeys(disk, "dead"), operator="452-04")
    open_zone(sessions, disk, "dz-452-04-0", operator="452-04")
    with session_scope(sessions) as session:
        session.add(Site(radio="lte", mcc=452, mnc=4, operator="452-04", area=1, cell=1,
                         unit=None, lat=MAST[0], lon=MAST[1], range_m=None, samples=1,
                         changeable=False, created=None, updated=None, average_signal=None,
                         geom=Point(MAST[1], MAST[0]),
                         imported_at=datetime(2026, 11, 1, tzinfo=UTC)))  # fmt: skip


def run(settings, *args):
    env = {"COLUMNS": "200", "DEADZONE_TERRAIN_PATH": str(settings.terrain_path)}
    return CliRunner().invoke(cli, [*args, "--database-url", settings.database_url], env=env)


def plan(client):
    return client.get("/v1/plan", params={"operator": "452-04", "colocate": True}).json()


def test_a_ridge_between_mast_and_village_is_diffraction_the_plan_counts(
    village_behind_a_ridge, settings, client, tmp_path
):
    flat = plan(client)
    assert flat["terrain"] == "flat terrain" and flat["sites"][0]["people_new"] == 800
    low = run(settings, "import-terrain", str(write_dem(tmp_path / "low.tif",
                                                                     ridge_m=0.0)))  # fmt: skip
    assert low.exit_code == 0, low.output
    # The settings' terrain path is the file the server reads.
    assert settings.terrain_path.exists()
    open_land = plan(client)
    assert "Deygout" in open_land["terrain"] and open_land["sites"][0]["people_new"] == 800
    high = run(settings, "import-terrain", str(write_dem(tmp_path / "high.tif", ridge_m=300.0)))
    assert high.exit_code == 0, high.output
    ridge = plan(client)
    assert ridge["sites"] == [] and "Deygout" in ridge["explanation"]


def test_a_utm_dem_is_reprojected_and_clipped(village_behind_a_ridge, settings, tmp_path):
    from rasterio.warp import transform as warp

    # A grid in UTM 49N (Dak Lak), 90 m pixels (SRTM-3 like), 108 km wide.
    (x,), (y,) = warp("EPSG:4326", "EPSG:32649", [LON], [LAT])
    heights = np.full((1200, 1200), 500.0, dtype=np.float32)
    path = tmp_path / "utm.tif"
    with rasterio.open(path, "w", driver="GTiff", width=1200, height=1200, count=1,
                       dtype="float32", crs="EPSG:32649",
                       transform=from_origin(x - 54_000, y + 54_000, 90, 90)) as out:  # fmt: skip
        out.write(heights, 1)
    result = run(settings, "import-terrain", str(path))
    assert result.exit_code == 0, result.output
    with rasterio.open(settings.terrain_path) as dem:
        assert dem.crs.to_epsg() == 4326
        west, south, east, north = dem.bounds
        # Clipped to the commune (0.08 degrees) plus 0.3 degrees each side.
        assert east - west == pytest.approx(0.68, abs=0.01)
        assert float(np.nanmax(dem.read(1))) == pytest.approx(500.0)


def test_bad_terrain_files_are_refused_in_one_line(village_behind_a_ridge, settings, tmp_path):
    text = tmp_path / "dem.tif"
    text.write_text("not a raster")
    bad = run(settings, "import-terrain", str(text))
    assert bad.exit_code == 2 and "not a readable GeoTIFF" in bad.output
    no_crs = run(settings, "import-terrain", str(write_dem(tmp_path / "nocrs.tif", ridge_m=0.0,
                                                           crs=None)))  # fmt: skip
    assert no_crs.exit_code == 2 and "no CRS" in no_crs.output
    far = tmp_path / "far.tif"
    origin = from_origin(10.0, 50.0, 0.01, 0.01)  # in Europe
    with rasterio.open(far, "w", driver="GTiff", width=10, height=10, count=1,
                       dtype="float32", crs="EPSG:4326", transform=origin) as out:  # fmt: skip
        out.write(np.zeros((10, 10), dtype=np.float32), 1)
    outside = run(settings, "import-terrain", str(far))
    assert outside.exit_code == 2 and "does not overlap the" in outside.output
    assert not settings.terrain_path.exists()
