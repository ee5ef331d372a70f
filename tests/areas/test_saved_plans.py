"""Saved plans (``deadzone plan --save NAME``) and the ``plan_sites`` view QGIS opens: the
site's point and the hexagons of the people it reaches, on both databases (the view on
PostGIS)."""

from __future__ import annotations

import h3
import pytest
import shapely
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner

from service.cli import app as cli
from service.store.models import CellPopulation, SavedPlan, SavedPlanSite
from tests.areas.conftest import CENTRE
from tests.areas.test_plan_parameters import dark_village  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("dark_village")
CENTRE_LAT, CENTRE_LON = h3.cell_to_latlng(CENTRE)  # the dark village


def run(*args: str):
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args))


def test_plan_is_saved_and_opens_in_the_plan_sites_view(settings, sessions, client):
    url = ("--database-url", settings.database_url)
    result = run("plan", "--operator", "452-04", "--sites", "3", "--band", "700", "--save",
                 "viettel-700", *url)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "saved plan 'viettel-700' (1 sites)" in result.output
    assert "1 site(s) of 3" in result.output  # the explanation, as /v1/plan gives it
    api = client.get("/v1/plan", params={"operator": "452-04", "sites": 3, "band": 700}).json()
    with sessions() as session:
        saved = session.get(SavedPlan, "viettel-700")
        assert saved is not None and saved.operator == "452-04" and saved.sites_asked == 3
        assert saved.request["band_mhz"] == 700 and saved.model["band_mhz"] == 700
        assert saved.people_covered == 800 and saved.explanation == api["explanation"]
        [site] = session.scalars(select(SavedPlanSite)).all()
        assert site.h3 == api["sites"][0]["h3"] and site.people_reached == 800
        # The coverage: the hexagons of the populated dead cells the site reaches (here
        # every one: the whole village is within the 700 MHz reach), as one polygon.
        populated = session.scalars(
            select(CellPopulation.h3_cell).where(CellPopulation.people > 0)
        ).all()
        assert site.geom.equals(shapely.Point(site.lon, site.lat))
        assert site.coverage.geom_type == "MultiPolygon"
        expected = shapely.union_all(
            [shapely.Polygon([(x, y) for y, x in h3.cell_to_boundary(h3.int_to_str(c))])
             for c in populated]
        )  # fmt: skip
        assert site.coverage.symmetric_difference(expected).area < 1e-9
        if session.get_bind().dialect.name != "postgresql":
            assert "plan_sites" not in inspect(session.get_bind()).get_view_names()
            return
        row = session.execute(
            text("SELECT id, plan, rank, band_mhz, people_new, ST_GeometryType(geom), "
                 "ST_GeometryType(coverage), ST_Intersects(coverage, ST_SetSRID("
                 "ST_MakePoint(:lon, :lat), 4326)) FROM plan_sites"),
            {"lon": CENTRE_LON, "lat": CENTRE_LAT},
        ).one()  # fmt: skip
        assert tuple(row) == ("viettel-700#1", "viettel-700", 1, 700.0, 800.0, "ST_Point",
                              "ST_MultiPolygon", True)  # fmt: skip
        listed = dict(session.execute(
            text("SELECT f_geometry_column, type FROM geometry_columns "
                 "WHERE f_table_name = 'plan_sites' AND srid = 4326")).all())  # fmt: skip
        assert listed == {"geom": "POINT", "coverage": "MULTIPOLYGON"}


def test_saving_again_replaces_and_bad_names_are_refused(settings, sessions):
    url = ("--database-url", settings.database_url)
    assert run("plan", "--operator", "452-04", "--save", "p1", *url).exit_code == 0
    again = run("plan", "--operator", "452-04", "--sites", "2", "--save", "p1", *url)
    assert again.exit_code == 0 and "replaced plan 'p1'" in again.output
    with sessions() as session:
        assert session.scalars(select(SavedPlan.sites_asked)).all() == [2]
        assert len(session.scalars(select(SavedPlanSite)).all()) == 1
    bad = run("plan", "--operator", "452-04", "--save", "no spaces; drop", *url)
    assert bad.exit_code != 0 and "a plan name is" in bad.output and "Traceback" not in bad.output
    # Without --save nothing is written.
    assert run("plan", "--operator", "452-04", *url).exit_code == 0
    with sessions() as session:
        assert session.scalars(select(SavedPlan.name)).all() == ["p1"]
