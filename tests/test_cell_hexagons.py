"""Hexagons for the QGIS views (``service.store.hexagons``): the engine stores the outline of
each cell it decides for the first time, on PostgreSQL, and never recomputes a known one."""

from __future__ import annotations

import h3
from sqlalchemy import text

from service.store.database import session_scope
from service.store.hexagons import add_hexagons, hexagon_polygons
from tests.coverage_helpers import CENTRE, decide, ingest, reading_in


def test_hexagon_polygon_is_the_cells_outline():
    (polygon,) = hexagon_polygons([h3.str_to_int(CENTRE)])
    lat, lon = h3.cell_to_latlng(CENTRE)
    assert polygon.is_valid and len(polygon.exterior.coords) == 7  # 6 corners, closed
    assert polygon.centroid.distance(type(polygon.centroid)(lon, lat)) < 1e-5
    # Resolution 9: about 0.105 km2 (DESIGN.md); in square degrees near 12.7 N.
    assert abs(polygon.area * 111_320**2 * 0.9755 / 1e6 - h3.cell_area(CENTRE, "km^2")) < 0.005


def test_decided_cells_get_their_hexagon_once(settings, sessions):
    ring = sorted(h3.grid_ring(CENTRE, 1))
    ingest(sessions, settings, [reading_in(c, device=f"d{i}") for c in [CENTRE, *ring]
                                for i in range(3)])  # fmt: skip
    decide(sessions, settings)
    with session_scope(sessions) as session:
        if session.get_bind().dialect.name != "postgresql":
            # SQLite keeps no outlines (its QGIS path is the GeoPackage export).
            assert add_hexagons(session.connection(), [h3.str_to_int(CENTRE)]) == 0
            return
        decided = set(session.scalars(text("SELECT DISTINCT h3_cell FROM cell_status")))
        stored = dict(session.execute(
            text("SELECT h3_cell, ST_GeometryType(geom) FROM cell_hexagons")).all())  # fmt: skip
        assert h3.str_to_int(CENTRE) in decided
        assert set(stored) == decided  # working cells and their roll-up parents
        assert set(stored.values()) == {"ST_Polygon"}
        # Known cells are looked up, not recomputed; only a new one is added.
        new = h3.str_to_int(h3.grid_ring(CENTRE, 3)[0])
        assert add_hexagons(session.connection(), [*decided, new]) == 1
    ingest(sessions, settings, [reading_in(c, device=f"e{i}") for c in [CENTRE] for i in range(3)])
    decide(sessions, settings)
    with session_scope(sessions, write=False) as session:
        assert session.scalar(text("SELECT count(*) FROM cell_hexagons")) == len(decided) + 1
