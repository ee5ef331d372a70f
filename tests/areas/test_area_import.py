"""Importing communes and villages: valid, invalid (repaired or refused), reprojected and
hostile files, on both databases."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, Point, Polygon, box
from sqlalchemy import select, text
from typer.testing import CliRunner

from service.areas.boundaries import AreaFileError, read_areas
from service.cli import app as cli
from service.store.models import Commune, Village
from tests.areas.conftest import LAT, LON, import_areas, write_layer

HOSTILE = "<img src=x onerror=alert(1)>"
BOWTIE = Polygon([(LON, LAT), (LON + 0.02, LAT + 0.02), (LON + 0.02, LAT), (LON, LAT + 0.02)])


def communes(*extra: dict) -> list[dict]:
    return [
        {"code": "C1", "name": "Ea Ktur", "population": 12000,
         "geometry": box(LON - 0.05, LAT - 0.05, LON, LAT + 0.05)},
        {"code": "C2", "name": "Hòa Thuận", "population": None,
         "geometry": box(LON, LAT - 0.05, LON + 0.05, LAT + 0.05)},
        *extra,
    ]  # fmt: skip


def test_valid_communes_are_stored_as_multipolygons(tmp_path, settings, sessions):
    path = write_layer(tmp_path / "communes.geojson", communes())
    found, inserted, updated = import_areas(sessions, settings, path)
    assert (found.kind, inserted, updated, found.rejected) == ("commune", 2, 0, [])
    with sessions() as session:
        stored = {c.code: c for c in session.scalars(select(Commune))}
        assert stored["C2"].name == "Hòa Thuận"
        assert stored["C1"].population == 12000 and stored["C2"].population is None
        assert stored["C1"].geom.geom_type == "MultiPolygon"
        expected = box(LON - 0.05, LAT - 0.05, LON, LAT + 0.05)
        assert stored["C1"].geom.symmetric_difference(expected).area < 1e-12
        if session.get_bind().dialect.name == "postgresql":
            kind = session.execute(
                text("SELECT GeometryType(geom), ST_SRID(geom) FROM communes LIMIT 1")
            ).one()
            assert tuple(kind) == ("MULTIPOLYGON", 4326)


def test_reimport_updates_by_code(tmp_path, settings, sessions):
    import_areas(sessions, settings, write_layer(tmp_path / "a.geojson", communes()))
    renamed = communes()
    renamed[0]["name"] = "Ea Ktur (new)"
    _, inserted, updated = import_areas(
        sessions, settings, write_layer(tmp_path / "b.geojson", renamed)
    )
    assert (inserted, updated) == (0, 2)
    with sessions() as session:
        assert session.get(Commune, "C1").name == "Ea Ktur (new)"


def test_self_intersecting_polygon_is_repaired(tmp_path, settings, sessions):
    path = write_layer(
        tmp_path / "c.geojson", communes({"code": "C3", "name": "Bow", "geometry": BOWTIE})
    )
    found, inserted, _ = import_areas(sessions, settings, path)
    assert inserted == 3 and not found.rejected
    assert len(found.repaired) == 1 and "code 'C3'" in found.repaired[0]
    with sessions() as session:
        geom = session.get(Commune, "C3").geom
        assert geom.is_valid and geom.area > 0 and len(geom.geoms) == 2


def test_unusable_features_are_refused_and_named(tmp_path, settings, sessions):
    flat = Polygon([(LON, LAT), (LON + 0.01, LAT), (LON + 0.02, LAT)])  # no area at all
    path = write_layer(
        tmp_path / "bad.geojson",
        communes(
            {"code": "FLAT", "name": "Flat", "geometry": flat},
            {"code": None, "name": "Nameless code", "geometry": box(LON, LAT, LON + 1, LAT + 1)},
            {"code": "LINE", "name": "Road", "geometry": LineString([(LON, LAT), (LON, 13)])},
            {"code": "NEG", "name": "Neg", "population": -5, "geometry": box(LON, LAT, 109, 13)},
        ),
    )
    found, inserted, _ = import_areas(sessions, settings, path, kind="commune")
    assert inserted == 2
    reasons = {r.feature: r.reason for r in found.rejected}
    assert "no area left" in reasons["code 'FLAT'"]
    assert reasons["name 'Nameless code'"] == "no code"
    assert "LineString" in reasons["code 'LINE'"]
    assert "population" in reasons["code 'NEG'"]


@pytest.mark.parametrize("epsg", [32648, 3405])
def test_projected_file_is_reprojected_to_wgs84(tmp_path, settings, sessions, epsg):
    import geopandas as gpd

    frame = gpd.GeoDataFrame(communes(), geometry="geometry", crs=4326).to_crs(epsg)
    path = tmp_path / "utm.gpkg"
    frame.to_file(path, engine="pyogrio")
    found, inserted, _ = import_areas(sessions, settings, path)
    assert inserted == 2 and found.reprojected_from and str(epsg) in found.reprojected_from
    with sessions() as session:
        geom = session.get(Commune, "C1").geom
    # VN-2000 and WGS84 differ by a datum shift of some hundred metres at most, and both
    # round-trips are exact to well under that: 0.005 degrees is about 550 m.
    minx, miny, maxx, maxy = geom.bounds
    assert abs(minx - (LON - 0.05)) < 0.005 and abs(maxy - (LAT + 0.05)) < 0.005


def test_projected_coordinates_without_crs_are_refused(tmp_path):
    import geopandas as gpd

    frame = gpd.GeoDataFrame(communes(), geometry="geometry", crs=4326).to_crs(32648)
    path = tmp_path / "nocrs.geojson"
    frame.set_crs(None, allow_override=True).to_file(path, engine="pyogrio")
    with pytest.raises(AreaFileError) as caught:
        read_areas(path)
    assert caught.value.field == "crs"
    assert "projected" in caught.value.message and "EPSG:3405" in caught.value.message


def test_hostile_names_are_stored_as_text(tmp_path, settings, sessions):
    path = write_layer(
        tmp_path / "v.geojson",
        [{"code": "V1", "name": HOSTILE, "commune": "C1", "population": 10,
          "geometry": Point(LON, LAT)}],
    )  # fmt: skip
    found, inserted, _ = import_areas(sessions, settings, path)
    assert found.kind == "village" and inserted == 1
    with sessions() as session:
        assert session.get(Village, "V1").name == HOSTILE


def test_villages_from_a_shapefile_with_cluster_polygons(tmp_path, settings, sessions):
    cluster = box(LON, LAT, LON + 0.01, LAT + 0.01)
    path = write_layer(
        tmp_path / "villages.shp",
        [{"code": "V9", "name": "Buôn Trấp", "commune_code": "C1", "population": 900,
          "facilities": 2, "geometry": cluster}],
    )  # fmt: skip
    found, inserted, _ = import_areas(sessions, settings, path)
    assert found.kind == "village" and inserted == 1 and not found.rejected
    with sessions() as session:
        stored = session.get(Village, "V9")
        assert stored.name == "Buôn Trấp" and stored.facilities == 2
        assert stored.commune_code == "C1"  # the .dbf field was cut to commune_co
        assert stored.cluster is not None
        assert stored.cluster.symmetric_difference(cluster).area < 1e-12
        assert cluster.contains(Point(stored.lon, stored.lat))


def test_cli_imports_and_names_refused_features(tmp_path, settings):
    path = write_layer(
        tmp_path / "c.geojson",
        communes({"code": "BAD", "name": "Empty", "geometry": Polygon()}),
    )
    result = CliRunner().invoke(
        cli, ["import-areas", str(path), "--database-url", settings.database_url],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "communes added 2" in result.output
    assert "refused code 'BAD'" in result.output


def test_cli_refuses_a_file_without_crs_in_metres(tmp_path, settings):
    import geopandas as gpd

    frame = gpd.GeoDataFrame(communes(), geometry="geometry", crs=4326).to_crs(32648)
    path = tmp_path / "nocrs.geojson"
    frame.set_crs(None, allow_override=True).to_file(path, engine="pyogrio")
    result = CliRunner().invoke(
        cli, ["import-areas", str(path), "--database-url", settings.database_url],
        env={"COLUMNS": "300"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "nothing stored" in result.output


def test_shapefile_without_prj_in_metres_is_refused(tmp_path):
    import geopandas as gpd

    frame = gpd.GeoDataFrame(communes(), geometry="geometry", crs=4326).to_crs(3405)
    path = tmp_path / "communes.shp"
    frame.set_crs(None, allow_override=True).to_file(path, engine="pyogrio")
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(AreaFileError, match="declares no CRS"):
        read_areas(path)


def test_column_names_any_case_and_extra_vietnamese_columns(tmp_path, settings, sessions):
    path = write_layer(
        tmp_path / "v.gpkg",
        [{"Code": 42, "Name": "Thôn 3", "Commune": "C1", "Population": 250.0, "dân số": 1,
          "class": "x", "geometry": Point(LON, LAT)}],
    )  # fmt: skip
    found, inserted, _ = import_areas(sessions, settings, path)
    assert inserted == 1 and not found.rejected
    with sessions() as session:
        stored = session.get(Village, "42")  # a numeric code is kept as its text
        assert (stored.name, stored.commune_code, stored.population) == ("Thôn 3", "C1", 250)


def test_a_commune_coded_province_is_refused_since_progress_uses_that_code(tmp_path):
    path = write_layer(
        tmp_path / "c.geojson",
        [
            {"code": "Province", "name": "Tỉnh", "geometry": box(LON, LAT, LON + 0.1, LAT + 0.1)},
            {"code": "24001", "name": "Xã A", "geometry": box(LON, LAT, LON + 0.1, LAT + 0.1)},
        ],
    )
    found = read_areas(path, kind="commune")
    assert [r["code"] for r in found.rows] == ["24001"]
    assert "reserved" in found.rejected[0].reason and "Province" in found.rejected[0].feature


def test_cli_imports_villages_clusters_and_names_the_unknown_village(tmp_path, settings):
    villages = write_layer(tmp_path / "v.geojson", [
        {"code": "V1", "name": "Buôn Ea Ktur", "population": 500, "geometry": Point(LON, LAT)}
    ])  # fmt: skip
    clusters = write_layer(tmp_path / "clusters.geojson", [
        {"village_code": "V1", "geometry": Point(LON + 0.01, LAT)},
        {"village_code": "V1", "geometry": box(LON, LAT + 0.01, LON + 0.005, LAT + 0.015)},
        {"village_code": "V7", "geometry": Point(LON, LAT + 0.02)},
    ])  # fmt: skip
    runner, url = CliRunner(), ["--database-url", settings.database_url]
    first = runner.invoke(cli, ["import-areas", str(villages), *url], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    result = runner.invoke(
        cli, ["import-areas", str(clusters), "--kind", "cluster", *url], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "villages' clusters added 0, updated 1" in result.output
    assert "refused feature 3: village 'V7' is not imported" in result.output
    wrong = runner.invoke(cli, ["import-areas", str(clusters), "--kind", "hamlet", *url])
    assert (
        wrong.exit_code == 2 and "--kind must be auto, commune, village or cluster" in wrong.output
    )


@pytest.mark.parametrize("population", [1e308, 2**31, 3_000_000_000])
def test_a_population_beyond_the_column_is_refused_and_the_rest_stored(
    tmp_path, settings, sessions, population
):
    # It used to reach the database and stop the whole import with an OverflowError
    # (SQLite) or NumericValueOutOfRange (PostgreSQL), naming no feature.
    huge = {"code": "HUGE", "name": "Huge", "population": population,
            "geometry": box(LON + 0.05, LAT - 0.05, LON + 0.1, LAT + 0.05)}  # fmt: skip
    path = write_layer(tmp_path / "huge.geojson", communes(huge))
    found, inserted, _ = import_areas(sessions, settings, path, kind="commune")
    assert inserted == 2
    reasons = {r.feature: r.reason for r in found.rejected}
    assert "is larger than 2,147,483,647" in reasons["code 'HUGE'"]
