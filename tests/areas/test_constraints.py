"""Candidate constraints (``service.areas.constraints``): the power network and the roads,
imported as distances per cell, restrict where /v1/plan may put a site, with the reason
given when they leave fewer sites."""

from __future__ import annotations

import h3
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box
from sqlalchemy import func, select
from typer.testing import CliRunner

from service.areas.constraints import import_layer
from service.cli import app as cli
from service.errors import InvalidInput
from service.store.database import session_scope
from service.store.models import ConstraintCell, ConstraintLayer
from tests.areas.conftest import CENTRE, LAT, LON, NOW, write_layer
from tests.areas.test_plan_parameters import dark_village, plan  # noqa: F401  (fixture)

GEOD = Geod(ellps="WGS84")
NORTH_LAT = LAT + 0.02  # a road about 2.2 km north of the village


def road_north(tmp_path, *, crs="EPSG:4326"):
    line = LineString([(LON - 0.05, NORTH_LAT), (LON + 0.05, NORTH_LAT)])
    if crs != "EPSG:4326":
        import geopandas as gpd

        line = gpd.GeoSeries([line], crs="EPSG:4326").to_crs(crs).iloc[0]
    return write_layer(tmp_path / "roads.gpkg", [{"ref": "QL14", "geometry": line}], crs=crs,
                       driver="GPKG")  # fmt: skip


def store(sessions, settings, path, kind):
    with session_scope(sessions) as session:
        return import_layer(session, settings, path, kind=kind, now=NOW)


def distance_of(sessions, kind, cell):
    with sessions() as session:
        return session.scalar(
            select(ConstraintCell.distance_m).where(
                ConstraintCell.kind == kind, ConstraintCell.h3_cell == h3.str_to_int(cell)
            )
        )


def test_a_projected_road_layer_is_reprojected_and_measured_in_metres(tmp_path, settings,
                                                                      sessions):  # fmt: skip
    found = store(sessions, settings, road_north(tmp_path, crs="EPSG:32649"), "road")
    assert found.reprojected_from and "32649" in found.reprojected_from
    assert found.features == 1 and found.cells > 0
    lat, lon = h3.cell_to_latlng(CENTRE)
    # By hand: the geodesic distance due north from the cell centre to the road's latitude.
    _, _, expected = GEOD.inv(lon, lat, lon, NORTH_LAT)
    assert distance_of(sessions, "road", CENTRE) == pytest.approx(expected, rel=0.01)
    # Cells beyond the largest distance kept are not stored.
    with sessions() as session:
        farthest = session.scalar(select(func.max(ConstraintCell.distance_m)))
    assert farthest <= settings.constraint_max_distance_m


def test_power_points_and_reimport_replaces_the_layer(tmp_path, settings, sessions):
    lat, lon = h3.cell_to_latlng(CENTRE)
    points = write_layer(tmp_path / "power.geojson", [{"geometry": Point(lon, lat)}])
    store(sessions, settings, points, "power")
    assert distance_of(sessions, "power", CENTRE) == pytest.approx(0.0, abs=0.5)
    elsewhere = write_layer(tmp_path / "power2.geojson", [{"geometry": Point(lon + 0.2, lat)}])
    store(sessions, settings, elsewhere, "power")
    assert distance_of(sessions, "power", CENTRE) is None  # 21 km: beyond 5 km, replaced
    with sessions() as session:
        assert session.scalars(select(ConstraintLayer.source)).all() == ["power2.geojson"]


@pytest.mark.parametrize(
    ("records", "kind", "words"),
    [
        ([{"geometry": box(LON, LAT, LON + 0.01, LAT + 0.01)}], "road", "holds lines, found"),
        ([{"geometry": box(LON, LAT, LON + 0.01, LAT + 0.01)}], "power", "lines or points"),
        ([{"geometry": Point(LON, LAT)}], "road", "found Point"),
    ],
)
def test_wrong_geometries_are_refused_in_one_line(tmp_path, settings, sessions, records, kind,
                                                  words):  # fmt: skip
    path = write_layer(tmp_path / "bad.geojson", records)
    with pytest.raises(InvalidInput) as refused:
        store(sessions, settings, path, kind)
    assert words in refused.value.message and "\n" not in refused.value.message


def test_cli_imports_and_refuses_with_one_line(tmp_path, settings, sessions):
    runner = CliRunner(env={"COLUMNS": "200"})
    ok = runner.invoke(cli, ["import-constraints", "--kind", "road", str(road_north(tmp_path)),
                             "--database-url", settings.database_url])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "road layer, 1 feature(s)" in ok.output
    (tmp_path / "roads.csv").write_text("a,b\n1,2\n")
    for args, said in (
        (["--kind", "road", str(tmp_path / "roads.csv")], "has no geometries"),
        (["--kind", "river", str(tmp_path / "roads.csv")], "--kind must be power or road"),
        (["--kind", "power", str(tmp_path / "missing.gpkg")], "cannot read missing.gpkg"),
    ):
        result = runner.invoke(cli, ["import-constraints", *args,
                                     "--database-url", settings.database_url])  # fmt: skip
        assert result.exit_code != 0
        assert said in result.output and "Traceback" not in result.output
    metres = LineString([(800_000, 1_400_000), (801_000, 1_400_000)])
    projected = write_layer(tmp_path / "metres.geojson", [{"geometry": metres}], crs=None)
    result = runner.invoke(cli, ["import-constraints", "--kind", "road", str(projected),
                                 "--database-url", settings.database_url])  # fmt: skip
    assert result.exit_code != 0 and "look projected" in result.output


@pytest.mark.usefixtures("dark_village")
def test_plan_keeps_only_candidates_near_a_road_and_says_so(tmp_path, client, settings, sessions):
    store(sessions, settings, road_north(tmp_path), "road")
    free = plan(client, sites=5)
    assert free.constraints is None and free.candidates == 19
    # The road is about 2.2 km away: the default 1 km leaves no candidate, and says why.
    none = plan(client, sites=5, road="true")
    assert none.sites == [] and none.constraints is not None
    assert none.constraints.road_m == settings.plan_road_distance_m
    assert none.constraints.candidates_before == 19 and none.constraints.candidates_after == 0
    assert "none of the 19 candidate cells has a road within 1,000 m" in (none.explanation or "")
    # Within 2.5 km, the cells on the road's side remain; a site still covers the village.
    near = plan(client, sites=5, road="true", road_distance=2500)
    assert 0 < near.candidates < 19
    assert near.constraints is not None and near.constraints.candidates_after == near.candidates
    [site] = near.sites
    lat, lon = h3.cell_to_latlng(site.h3)
    assert GEOD.inv(lon, lat, lon, NORTH_LAT)[2] <= 2500 and site.people_new == 800
    assert f"kept {near.candidates} of 19 candidate cells" in (near.explanation or "")


@pytest.mark.usefixtures("dark_village")
def test_plan_with_grid_power_only_where_the_network_is(tmp_path, client, settings, sessions):
    ring = sorted(h3.grid_ring(CENTRE, 2))[0]
    lat, lon = h3.cell_to_latlng(ring)
    store(sessions, settings, write_layer(tmp_path / "substation.geojson",
                                          [{"geometry": Point(lon, lat)}]), "power")  # fmt: skip
    body = plan(client, sites=5, power="true")
    assert body.candidates == 1 and [s.h3 for s in body.sites] == [ring]
    assert "grid power within 200 m" in (body.explanation or "")


@pytest.mark.usefixtures("dark_village")
def test_constraint_parameters_are_checked(client, settings):
    def refused(**params):
        response = client.get("/v1/plan", params={"operator": "452-04", **params})
        assert response.status_code == 422, response.text
        body = response.json()
        return body.get("field") or body["errors"][0]["field"], str(body)

    field, body = refused(power="true")
    assert field == "power" and "import-constraints --kind power" in body
    assert refused(road_distance=500)[0] == "road_distance"  # without road=true
    assert refused(road="true", road_distance=-1)[0] == "road_distance"
