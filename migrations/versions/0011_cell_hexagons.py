"""PostgreSQL: H3 hexagon outlines of the decided cells, so the QGIS views draw hexagons.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.hexagons import add_hexagons
from service.store.spatial import Geometry

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The two views over cells, now with the cell's hexagon (docs/qgis.md). The centre stays
# as lat/lon columns.
_VIEWS_AFTER = {
    "qgis_decided_cells": """
        CREATE VIEW qgis_decided_cells AS
        SELECT lower(to_hex(s.h3_cell)) AS h3, s.operator, s.radio, s.resolution, s.status,
               s.confidence, s.readings, s.devices, s.days, s.no_service_share,
               s.signal_dbm_mean, s.first_seen, s.last_seen, s.lat, s.lon,
               h.geom::geometry(Polygon, 4326) AS geom
        FROM cell_status s
        JOIN cell_hexagons h ON h.h3_cell = s.h3_cell
    """,
    "qgis_calibration_cells": """
        CREATE VIEW qgis_calibration_cells AS
        SELECT lower(to_hex(c.h3_cell)) AS h3, c.operator, c.residual_db, c.lat, c.lon,
               h.geom::geometry(Polygon, 4326) AS geom
        FROM calibration_cells c
        JOIN cell_hexagons h ON h.h3_cell = c.h3_cell
    """,
}
_VIEWS_BEFORE = {
    "qgis_decided_cells": """
        CREATE VIEW qgis_decided_cells AS
        SELECT lower(to_hex(h3_cell)) AS h3, operator, radio, resolution, status, confidence,
               readings, devices, days, no_service_share, signal_dbm_mean, first_seen,
               last_seen, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom
        FROM cell_status
    """,
    "qgis_calibration_cells": """
        CREATE VIEW qgis_calibration_cells AS
        SELECT lower(to_hex(h3_cell)) AS h3, operator, residual_db,
               ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom
        FROM calibration_cells
    """,
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.create_table(
        "cell_hexagons",
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("geom", Geometry("POLYGON"), nullable=False, comment="WGS84 outline"),
        sa.PrimaryKeyConstraint("h3_cell", name=op.f("pk_cell_hexagons")),
    )
    cells = bind.execute(
        sa.text("SELECT h3_cell FROM cell_status UNION SELECT h3_cell FROM calibration_cells")
    ).scalars()
    add_hexagons(bind, cells)
    for name, view in _VIEWS_AFTER.items():
        op.execute(f"DROP VIEW IF EXISTS {name}")
        op.execute(view)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, view in _VIEWS_BEFORE.items():
        op.execute(f"DROP VIEW IF EXISTS {name}")
        op.execute(view)
    op.drop_table("cell_hexagons")
