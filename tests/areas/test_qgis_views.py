"""The PostGIS views QGIS opens (docs/qgis.md): each has a typed EPSG:4326 geometry that
``geometry_columns`` lists (what QGIS reads to offer a layer) and the rows the API shows."""

from __future__ import annotations

from sqlalchemy import inspect, text

from service.areas.planning import plan_sites
from service.areas.progress import take_snapshot
from service.areas.saved_plans import save_plan
from service.store.database import session_scope
from tests.areas.conftest import CENTRE, NOW
from tests.areas.test_area_filters import grid  # noqa: F401  (the fixture)

VIEWS = {
    "qgis_decided_cells": "POLYGON",
    "qgis_dead_zones": "MULTIPOLYGON",
    "qgis_villages": "POINT",
    "qgis_calibration_cells": "POLYGON",
}


def test_views_open_with_geometry_on_postgis(grid, settings, sessions):  # noqa: F811
    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=NOW)
    with session_scope(sessions, write=False) as session:
        if session.get_bind().dialect.name != "postgresql":
            # SQLite has no geometry functions to build them: the GeoPackage exports are
            # the QGIS path there, and no half-made view is left behind.
            assert not set(VIEWS) & set(inspect(session.get_bind()).get_view_names())
            return
        listed = dict(
            session.execute(
                text("SELECT f_table_name, type FROM geometry_columns "
                     "WHERE f_table_name LIKE 'qgis_%' AND srid = 4326")
            ).all()
        )  # fmt: skip
        assert listed == VIEWS
        cells = session.execute(
            text("SELECT h3, status, ST_GeometryType(geom), ST_NPoints(geom), lat, lon, "
                 "ST_Contains(geom, ST_SetSRID(ST_MakePoint(lon, lat), 4326)) "
                 "FROM qgis_decided_cells WHERE operator = 'any' ORDER BY h3")
        ).all()  # fmt: skip
        assert CENTRE in [row[0] for row in cells]
        decided = session.scalar(text("SELECT count(*) FROM cell_status"))
        assert session.scalar(text("SELECT count(*) FROM qgis_decided_cells")) == decided
        # Every decided cell is drawn as its hexagon (6 corners and the closing point),
        # around its centre.
        assert {(row[2], row[3], row[6]) for row in cells} == {("ST_Polygon", 7, True)}
        assert all(108.0 < row[5] < 109.0 for row in cells)
        zones = session.execute(
            text("SELECT id, ST_GeometryType(geom), radio FROM qgis_dead_zones ORDER BY id")
        ).all()
        # The grid's zones in both scopes (any signal, broadband), told apart by radio.
        assert [(z[0], z[2]) for z in zones] == [
            ("dz-any-empty", "any"), ("dz-any-far", "any"), ("dz-any-ring", "any"),
            ("dz-bb-any-empty", "broadband"), ("dz-bb-any-far", "broadband"),
            ("dz-bb-any-ring", "broadband"),
        ]  # fmt: skip
        assert {z[1] for z in zones} == {"ST_MultiPolygon"}
        villages = dict(session.execute(text("SELECT code, status FROM qgis_villages")).all())
        assert villages == {"V1": "lom_song", "V2": "trang_song"}
        assert session.scalar(text("SELECT count(*) FROM qgis_calibration_cells")) == 0


def test_every_view_selects_with_its_geometry_on_postgis(grid, settings, sessions):  # noqa: F811
    """Every view of the schema (the QGIS views and plan_sites, whatever is added later)
    answers ``SELECT`` with each geometry column filled and of its declared type."""
    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=NOW)
        plan = plan_sites(session, settings, operator="any", sites=2)
        assert plan["sites"]
        save_plan(session, plan, name="p", sites_asked=2, request={}, now=NOW)
    with session_scope(sessions, write=False) as session:
        if session.get_bind().dialect.name != "postgresql":
            return
        columns = session.execute(
            text("SELECT g.f_table_name, g.f_geometry_column, g.type FROM geometry_columns g "
                 "JOIN information_schema.views v ON v.table_name = g.f_table_name "
                 "AND v.table_schema = g.f_table_schema WHERE g.f_table_schema = 'public'")
        ).all()  # fmt: skip
        views = {name for name, _, _ in columns}
        assert views >= {*VIEWS, "plan_sites"}
        for name, column, kind in columns:
            rows, typed = session.execute(
                text(f'SELECT count(*), count(*) FILTER (WHERE GeometryType("{column}") = '
                     f"'{kind}') FROM {name}")
            ).one()  # fmt: skip
            if name == "qgis_calibration_cells":
                continue  # no calibration in this grid: test_calibration checks it
            assert rows > 0 and typed == rows, (name, column, rows, typed)
