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
        assert saved.request["band"] == 700 and saved.model["band_mhz"] == 700
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


def test_the_api_saves_a_plan_with_its_operators_key(settings, sessions):
    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.api.routes.areas import SavedPlanOut
    from service.keys import ApiKey, key_digest

    production = settings.model_copy(update={"environment": "production", "api_keys": [
        ApiKey(name="viettel-daklak", role="planner", operators=["452-04"],
               sha256=key_digest("k-viettel")),
        ApiKey(name="vnpt-daklak", role="planner", operators=["452-02"],
               sha256=key_digest("k-vnpt")),
    ]})  # fmt: skip
    body = {"name": "vt-api", "operator": "452-04", "sites": 2, "band": 700}
    with TestClient(create_app(production)) as client:
        assert client.post("/v1/plans", json=body).status_code == 401  # writing needs a key
        other = client.post("/v1/plans", json=body, headers={"X-Deadzone-Key": "k-vnpt"})
        assert other.status_code == 403 and other.json()["field"] == "operator"
        bad = client.post("/v1/plans", json={**body, "name": "a b"},
                          headers={"X-Deadzone-Key": "k-viettel"})  # fmt: skip
        assert bad.status_code == 422
        made = client.post("/v1/plans", json=body, headers={"X-Deadzone-Key": "k-viettel"})
        assert made.status_code == 201, made.text
        saved = SavedPlanOut.model_validate(made.json())
        assert not saved.replaced and len(saved.plan.sites) == 1
        assert saved.plan.explanation and "1 site(s) of 2" in saved.plan.explanation
        again = client.post("/v1/plans", json=body, headers={"X-Deadzone-Key": "k-viettel"})
        assert SavedPlanOut.model_validate(again.json()).replaced
    with sessions() as session:
        saved_row = session.get(SavedPlan, "vt-api")
        assert saved_row is not None and saved_row.request["band"] == 700
        assert [s.h3 for s in session.scalars(select(SavedPlanSite))] == [saved.plan.sites[0].h3]
