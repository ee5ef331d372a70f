"""Dead zones in each scope over radios: ``dead_zones.radio`` and ``zone_cells.radio``
('any' signal or 'broadband', LTE or NR). Zones stored before were grouped for any signal,
so they keep the scope 'any'; the next aggregation is a full one (its rules fingerprint
changed, ``service.engine.incremental``) and finds the broadband zones.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The QGIS view of the zones (as 0009 made it), with the scope over radios beside the
# operator: without it a layer would draw each zone of both scopes on top of each other.
_ZONES_VIEW = """
    CREATE VIEW qgis_dead_zones AS
    SELECT id, operator, {radio}rank, priority, state, cell_count, area_km2, population,
           villages::text AS villages, readings, devices, first_seen, last_seen,
           distance_to_covered_m, outline::geometry(MultiPolygon, 4326) AS geom
    FROM dead_zones
    WHERE active
"""


def _scope_column(comment: str) -> sa.Column[str]:
    return sa.Column(
        "radio", sa.String(length=9), nullable=False, server_default="any", comment=comment
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("dead_zones") as batch:
        batch.add_column(_scope_column("scope: any or broadband"))
    with op.batch_alter_table("zone_cells", recreate="always") as batch:
        batch.add_column(_scope_column("any or broadband"))
        batch.drop_constraint("pk_zone_cells", type_="primary")
        batch.create_primary_key("pk_zone_cells", ["operator", "radio", "h3_cell"])
    if postgres:
        op.execute("DROP VIEW IF EXISTS qgis_dead_zones")
        op.execute(_ZONES_VIEW.format(radio="radio, "))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP VIEW IF EXISTS qgis_dead_zones")
    op.execute("DELETE FROM zone_cells WHERE radio <> 'any'")
    op.execute("DELETE FROM dead_zones WHERE radio <> 'any'")
    with op.batch_alter_table("zone_cells", recreate="always") as batch:
        batch.drop_constraint("pk_zone_cells", type_="primary")
        batch.drop_column("radio")
        batch.create_primary_key("pk_zone_cells", ["operator", "h3_cell"])
    with op.batch_alter_table("dead_zones") as batch:
        batch.drop_column("radio")
    if postgres:
        op.execute(_ZONES_VIEW.format(radio=""))
