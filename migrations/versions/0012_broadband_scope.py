"""Decisions in the broadband scope: ``cell_status.radio`` holds 'broadband' (9 characters).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# PostgreSQL cannot retype a column a view reads: the QGIS view of the decided grid (as
# 0011 made it) is dropped for the change and made again.
_DECIDED_CELLS_VIEW = """
    CREATE VIEW qgis_decided_cells AS
    SELECT lower(to_hex(s.h3_cell)) AS h3, s.operator, s.radio, s.resolution, s.status,
           s.confidence, s.readings, s.devices, s.days, s.no_service_share,
           s.signal_dbm_mean, s.first_seen, s.last_seen, s.lat, s.lon,
           h.geom::geometry(Polygon, 4326) AS geom
    FROM cell_status s
    JOIN cell_hexagons h ON h.h3_cell = s.h3_cell
"""


def _radio_width(before: int, after: int, comments: tuple[str, str]) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP VIEW IF EXISTS qgis_decided_cells")
    with op.batch_alter_table("cell_status") as batch:
        batch.alter_column(
            "radio", existing_type=sa.String(length=before), type_=sa.String(length=after),
            existing_nullable=False, existing_comment=comments[0], comment=comments[1],
        )  # fmt: skip
    if postgres:
        op.execute(_DECIDED_CELLS_VIEW)


def upgrade() -> None:
    _radio_width(4, 9, ("lte... or any", "lte..., any or broadband"))


def downgrade() -> None:
    op.execute("DELETE FROM cell_status WHERE radio = 'broadband'")
    _radio_width(9, 4, ("lte..., any or broadband", "lte... or any"))
