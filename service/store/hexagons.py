"""H3 hexagons as PostGIS polygons, for the QGIS views (docs/qgis.md).

This PostgreSQL has no h3 extension, so a view cannot compute a cell's outline; the
outlines are computed in Python (``h3.cell_to_boundary``) and kept in ``cell_hexagons``,
one row per cell ever decided, which the views join. A cell's outline never changes, so
only cells not yet in the table are computed: the first aggregation of a province pays for
its cells once (about 170,000 at resolution 9 with their coarser parents), later runs look
them up by key and add nothing. PostgreSQL only: SQLite has no geometry functions to build
views with, and its QGIS path is the GeoPackage export, which draws hexagons itself.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely
from h3.api import basic_int
from sqlalchemy import Connection, text

from service.store.dialect import is_postgres
from service.store.spatial import WGS84

_MISSING = text(
    "SELECT c FROM unnest(CAST(:cells AS bigint[])) AS t(c) "
    "WHERE NOT EXISTS (SELECT 1 FROM cell_hexagons h WHERE h.h3_cell = t.c)"
)
# Binary COPY of EWKB into a session-local staging table, then one INSERT (a bytea[]
# parameter of 200,000 outlines took longer). ON CONFLICT: two writers racing on one new
# cell both compute it; the second adds nothing.
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS hexagon_batch "
    "(h3_cell int8, resolution int2, geom geometry) ON COMMIT DELETE ROWS"
)
_INSERT = (
    "INSERT INTO cell_hexagons (h3_cell, resolution, geom) "
    "SELECT h3_cell, resolution, geom FROM hexagon_batch "
    "ON CONFLICT (h3_cell) DO NOTHING"
)


def hexagon_polygons(cells: Iterable[int]) -> np.ndarray:
    """The outline of each H3 cell (integers) as a WGS84 polygon (lon, lat; closed ring),
    in an array of shapely polygons. Built as one array of rings (one shapely call, not
    one per cell); the twelve pentagons of each resolution have a ring of their own."""
    boundaries = [basic_int.cell_to_boundary(int(c)) for c in cells]  # ((lat, lon), ...)
    polygons = np.empty(len(boundaries), dtype=object)
    hexagons = [i for i, b in enumerate(boundaries) if len(b) == 6]
    if hexagons:
        rings = np.array([boundaries[i] for i in hexagons])[:, :, ::-1]  # to (lon, lat)
        polygons[hexagons] = shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1))
    for i, b in enumerate(boundaries):
        if len(b) != 6:
            polygons[i] = shapely.Polygon([(lon, lat) for lat, lon in b])
    return polygons


def add_hexagons(conn: Connection, cells: Iterable[int]) -> int:
    """Store the outlines of those ``cells`` (H3 integers) not stored yet; return how many
    were new. Does nothing on SQLite (module doc)."""
    if not is_postgres(conn):
        return 0
    wanted = np.unique(np.fromiter((int(c) for c in cells), dtype=np.int64))
    if wanted.size == 0:
        return 0
    missing = [int(c) for (c,) in conn.execute(_MISSING, {"cells": wanted.tolist()})]
    if not missing:
        return 0
    # EWKB with the SRID is the geometry's own binary input: no text to parse on the server.
    shapes = shapely.to_wkb(shapely.set_srid(hexagon_polygons(missing), WGS84), include_srid=True)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute(_STAGE)
        with cur.copy("COPY hexagon_batch FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int2", "bytea"])
            for cell, shape in zip(missing, shapes.tolist(), strict=True):
                copy.write_row((cell, basic_int.get_resolution(cell), shape))
        cur.execute(_INSERT)
        cur.execute("TRUNCATE hexagon_batch")
    return len(missing)
