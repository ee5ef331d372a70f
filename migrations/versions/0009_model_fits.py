"""The planning model calibrated on measurements, per operator and band, and per cell.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.timestamps import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_fits",
        sa.Column("operator", sa.String(length=7), nullable=False, comment="452-04 or any"),
        sa.Column("band_mhz", sa.Integer(), nullable=False, comment="0: all bands"),
        sa.Column("offset_db", sa.Float(), nullable=False,
                  comment="mean of predicted - measured RSRP, dB (extra loss)"),
        sa.Column("rmse_db", sa.Float(), nullable=False, comment="RMSE after the offset, dB"),
        sa.Column("cells", sa.Integer(), nullable=False, comment="measured cells in the fit"),
        sa.Column("sites", sa.Integer(), nullable=False, comment="known sites serving them"),
        sa.Column("fitted_at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.PrimaryKeyConstraint("operator", "band_mhz", name=op.f("pk_model_fits")),
    )  # fmt: skip
    op.create_table(
        "calibration_cells",
        sa.Column("operator", sa.String(length=7), nullable=False, comment="452-04 or any"),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False, comment="cell centre, WGS84 degrees"),
        sa.Column("lon", sa.Float(), nullable=False, comment="cell centre, WGS84 degrees"),
        sa.Column("residual_db", sa.Float(), nullable=False,
                  comment="predicted - measured RSRP, dB"),
        sa.PrimaryKeyConstraint("operator", "h3_cell", name=op.f("pk_calibration_cells")),
    )  # fmt: skip


    if op.get_bind().dialect.name == "postgresql":
        for view in QGIS_VIEWS.values():
            op.execute(view)


# Views for QGIS (docs/qgis.md), PostGIS only: each has one geometry column ``geom`` in
# EPSG:4326 and a stable key, so QGIS lists them under the connection and draws them as they
# are. SQLite has no geometry functions to build them with: use the GeoPackage exports there.
QGIS_VIEWS = {
    # The decided grid, every scope ('any' or an operator) and radio: the cell centre as a
    # point and the cell as hexadecimal H3 (as the API speaks it).
    "qgis_decided_cells": """
        CREATE VIEW qgis_decided_cells AS
        SELECT lower(to_hex(h3_cell)) AS h3, operator, radio, resolution, status, confidence,
               readings, devices, days, no_service_share, signal_dbm_mean, first_seen,
               last_seen, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom
        FROM cell_status
    """,
    # Dead zones that still exist, per scope, with their priority and people.
    "qgis_dead_zones": """
        CREATE VIEW qgis_dead_zones AS
        SELECT id, operator, rank, priority, state, cell_count, area_km2, population,
               villages::text AS villages, readings, devices, first_seen, last_seen,
               distance_to_covered_m, outline::geometry(MultiPolygon, 4326) AS geom
        FROM dead_zones
        WHERE active
    """,
    # Villages with their newest status (best of all operators, from the daily snapshot).
    "qgis_villages": """
        CREATE VIEW qgis_villages AS
        SELECT v.code, v.name, v.commune_code, c.name AS commune_name, v.population,
               s.status, s.day AS status_day, v.geom::geometry(Point, 4326) AS geom
        FROM villages v
        LEFT JOIN communes c ON c.code = v.commune_code
        LEFT JOIN LATERAL (
            SELECT status, day FROM village_status_snapshots
            WHERE village_code = v.code ORDER BY day DESC LIMIT 1
        ) s ON true
    """,
    # The model's measured residual per cell and scope (calibration), to map where the
    # land loses more than Hata says.
    "qgis_calibration_cells": """
        CREATE VIEW qgis_calibration_cells AS
        SELECT lower(to_hex(h3_cell)) AS h3, operator, residual_db,
               ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom
        FROM calibration_cells
    """,
}


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in QGIS_VIEWS:
            op.execute(f"DROP VIEW IF EXISTS {name}")
    op.drop_table("calibration_cells")
    op.drop_table("model_fits")
