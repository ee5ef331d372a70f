"""Claimed coverage: polygons or a 0/1 raster in, working cells out; clear errors for bad
files; a new claim replaces the old one's cells and both imports stay on the record."""

from __future__ import annotations

from datetime import UTC, datetime

import geopandas as gpd
import h3
import numpy as np
import pytest
from shapely.geometry import Point, box
from sqlalchemy import select

from service.areas.claims import ClaimFileError, read_claim, store_claim
from service.store.database import session_scope
from service.store.models import AuditEvent, Claim, ClaimedCell

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SQUARE = box(108.0, 12.6, 108.02, 12.62)  # about 2.2 x 2.2 km near Buon Ma Thuot


def _expected() -> set[int]:
    return {h3.str_to_int(c) for c in h3.geo_to_cells(SQUARE.__geo_interface__, 9)}


def _write(path, geometries, crs="EPSG:4326", driver=None):
    gpd.GeoDataFrame({"name": ["claim"] * len(geometries)}, geometry=geometries, crs=crs).to_file(
        path, driver=driver, engine="pyogrio"
    )
    return path


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp"])
def test_polygon_claim_becomes_the_cells_whose_centre_it_holds(tmp_path, suffix):
    path = _write(tmp_path / f"claim{suffix}", [SQUARE])
    found = read_claim(path, operator="452-04", radio="lte", resolution=9)
    assert set(found.cells) == _expected()
    assert len(found.cells) > 30


def test_projected_polygons_are_reprojected(tmp_path):
    utm = gpd.GeoSeries([SQUARE], crs="EPSG:4326").to_crs("EPSG:32648")
    path = _write(tmp_path / "claim.gpkg", list(utm), crs="EPSG:32648")
    found = read_claim(path, operator="452-04", radio="nr", resolution=9)
    assert "32648" in (found.reprojected_from or "")
    # Reprojecting bends the edges slightly: the same cells bar a few on the border.
    assert len(set(found.cells) ^ _expected()) <= 0.05 * len(_expected())


def _raster(path, values, *, crs="EPSG:4326", nodata=None):
    import rasterio
    from rasterio.transform import from_bounds

    height, width = values.shape
    with rasterio.open(
        path, "w", driver="GTiff", height=height, width=width, count=1, dtype="uint8",
        crs=crs, transform=from_bounds(108.0, 12.58, 108.04, 12.62, width, height),
        nodata=nodata,
    ) as out:  # fmt: skip
        out.write(values, 1)
    return path


def test_raster_claim_takes_cells_whose_centre_pixel_is_one(tmp_path):
    values = np.zeros((40, 40), dtype="uint8")
    values[:20, :20] = 1  # the north-west quarter: 108.00-108.02 E, 12.60-12.62 N
    found = read_claim(_raster(tmp_path / "c.tif", values), operator="452-04", radio="lte",
                       resolution=9)  # fmt: skip
    for cell in found.cells:
        lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
        assert 108.0 <= lon <= 108.02 + 1e-9 and 12.6 - 1e-9 <= lat <= 12.62
    assert len(found.cells) >= 0.9 * len(_expected())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _raster(p / "x.tif", np.full((4, 4), 3, dtype="uint8")), "found 3"),
        (lambda p: _write(p / "x.geojson", [Point(108.0, 12.6)]), "must be polygons"),
        (lambda p: (p / "x.geojson").write_text("{not json"), "cannot read x.geojson"),
        (lambda p: _write(p / "x.geojson", [box(0.0, 0.0, 1e-6, 1e-6)]), "no working cell"),
        (lambda p: p / "missing.gpkg", "no such file"),
    ],
)
def test_bad_claim_files_are_refused_in_one_line(tmp_path, make, message):
    path = make(tmp_path)
    if path is None or isinstance(path, int):
        path = tmp_path / "x.geojson"
    with pytest.raises(ClaimFileError) as refused:
        read_claim(path, operator="452-04", radio="lte", resolution=9)
    assert message in refused.value.message
    assert "\n" not in refused.value.message


def test_bad_operator_or_radio_is_refused(tmp_path):
    path = _write(tmp_path / "c.geojson", [SQUARE])
    with pytest.raises(ClaimFileError, match="MCC-MNC"):
        read_claim(path, operator="viettel", radio="lte", resolution=9)
    with pytest.raises(ClaimFileError, match="lte, nr, broadband"):
        read_claim(path, operator="452-04", radio="gsm", resolution=9)


def test_new_claim_replaces_the_cells_and_both_stay_on_record(tmp_path, sessions):
    first = read_claim(_write(tmp_path / "a.geojson", [SQUARE]), operator="452-04",
                       radio="lte", resolution=9)  # fmt: skip
    smaller = box(108.0, 12.6, 108.01, 12.61)
    second = read_claim(_write(tmp_path / "b.geojson", [smaller]), operator="452-04",
                        radio="lte", resolution=9)  # fmt: skip
    other = read_claim(_write(tmp_path / "c.geojson", [SQUARE]), operator="452-02",
                       radio="lte", resolution=9)  # fmt: skip
    with session_scope(sessions) as session:
        store_claim(session, first, actor="cli:alice", now=NOW)
        store_claim(session, other, actor="cli:alice", now=NOW)
    with session_scope(sessions) as session:
        store_claim(session, second, actor="cli:bob", now=NOW)
    with session_scope(sessions, write=False) as session:
        viettel = set(
            session.scalars(select(ClaimedCell.h3_cell).where(ClaimedCell.operator == "452-04"))
        )
        vinaphone = session.scalar(
            select(ClaimedCell.claim_id).where(ClaimedCell.operator == "452-02").limit(1)
        )
        claims = session.scalars(select(Claim).order_by(Claim.id)).all()
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert viettel == set(second.cells)
    assert vinaphone == claims[1].id  # the other operator's claim is untouched
    assert [(c.operator, c.imported_by, c.cells) for c in claims] == [
        ("452-04", "cli:alice", len(first.cells)),
        ("452-02", "cli:alice", len(other.cells)),
        ("452-04", "cli:bob", len(second.cells)),
    ]
    last = events[-1]
    assert (last.actor, last.action, last.subject) == ("cli:bob", "imported", "claim:452-04/lte")
    assert last.detail["cells_replaced"] == len(first.cells)
    assert last.detail["cells"] == len(second.cells)


def test_cli_imports_a_claim_and_says_what_it_stored(tmp_path, settings):
    from typer.testing import CliRunner

    from service.cli import app

    path = _write(tmp_path / "claim.geojson", [SQUARE])
    runner = CliRunner()
    args = ["import-claimed", str(path), "--operator", "452-04", "--radio", "broadband",
            "--by", "viettel-daklak", "--database-url", settings.database_url]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{len(_expected()):,} cells claimed" in result.output
    bad = runner.invoke(app, [*args[:2], "--operator", "452-04", "--radio", "3g",
                              "--database-url", settings.database_url])  # fmt: skip
    assert bad.exit_code == 2
    assert "radio must be one of lte, nr, broadband" in bad.output
