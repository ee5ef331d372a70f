"""Areas: communes, villages, population per cell, progress snapshots.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.spatial import Geometry
from service.timestamps import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "communes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False,
                  comment="as imported; escaped by the maps"),
        sa.Column("population", sa.Integer(), nullable=True, comment="people, from the file"),
        sa.Column("geom", Geometry("MULTIPOLYGON"), nullable=False, comment="WGS84"),
        sa.Column("imported_at", UTCDateTime(), nullable=False, comment="UTC, last written"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_communes")),
    )  # fmt: skip
    op.create_table(
        "villages",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False,
                  comment="as imported; escaped by the maps"),
        sa.Column("commune_code", sa.String(length=32), nullable=True,
                  comment="commune it belongs to"),
        sa.Column("population", sa.Integer(), nullable=True, comment="people, from the file"),
        sa.Column("facilities", sa.Integer(), nullable=True,
                  comment="schools, health stations, offices: raise a dead zone's priority"),
        sa.Column("lat", sa.Float(), nullable=False, comment="centre, WGS84 degrees"),
        sa.Column("lon", sa.Float(), nullable=False, comment="centre, WGS84 degrees"),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False,
                  comment="centre cell, working resolution"),
        sa.Column("geom", Geometry("POINT"), nullable=False, comment="centre, WGS84"),
        sa.Column("cluster", Geometry("MULTIPOLYGON"), nullable=True,
                  comment="residential cluster, WGS84"),
        sa.Column("imported_at", UTCDateTime(), nullable=False, comment="UTC, last written"),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_villages")),
    )  # fmt: skip
    op.create_index("ix_villages_commune_code", "villages", ["commune_code"])
    op.create_table(
        "village_cells",
        sa.Column("village_code", sa.String(length=32), nullable=False),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("centre", sa.Boolean(), nullable=False, comment="the village centre's cell"),
        sa.Column("people", sa.Float(), nullable=False,
                  comment="people of the village in the cell"),
        sa.PrimaryKeyConstraint("village_code", "h3_cell", name=op.f("pk_village_cells")),
    )  # fmt: skip
    op.create_index("ix_village_cells_h3_cell", "village_cells", ["h3_cell"])
    op.create_table(
        "cell_population",
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("people", sa.Float(), nullable=False,
                  comment="people (may be fractional: raster)"),
        sa.Column("source", sa.String(length=8), nullable=False, comment="villages or raster"),
        sa.Column("commune_code", sa.String(length=32), nullable=True,
                  comment="commune holding the cell centre"),
        sa.PrimaryKeyConstraint("h3_cell", name=op.f("pk_cell_population")),
    )  # fmt: skip
    op.create_index("ix_cell_population_commune_code", "cell_population", ["commune_code"])
    op.create_table(
        "progress_snapshots",
        sa.Column("day", sa.Date(), nullable=False, comment="UTC day"),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("population", sa.Float(), nullable=False, comment="people in the area's cells"),
        sa.Column("people_covered", sa.Float(), nullable=False,
                  comment="covered or weak, best op."),
        sa.Column("people_weak", sa.Float(), nullable=False, comment="of which weak (1 bar)"),
        sa.Column("people_dead", sa.Float(), nullable=False),
        sa.Column("people_unknown", sa.Float(), nullable=False,
                  comment="undecided or never measured"),
        sa.Column("covered_share", sa.Float(), nullable=True, comment="0-1; null: no people"),
        sa.Column("villages_trang_song", sa.Integer(), nullable=False,
                  comment="no signal at centre"),
        sa.Column("villages_lom_song", sa.Integer(), nullable=False,
                  comment="centre ok, clusters dead"),
        sa.Column("villages_covered", sa.Integer(), nullable=False),
        sa.Column("villages_unknown", sa.Integer(), nullable=False,
                  comment="not enough readings"),
        sa.Column("zones_open", sa.Integer(), nullable=False,
                  comment="active open dead zones (any op.)"),
        sa.Column("evidence_median_age_days", sa.Float(), nullable=True,
                  comment="median age of the newest reading of decided populated cells, days"),
        sa.Column("taken_at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.PrimaryKeyConstraint("day", "area", name=op.f("pk_progress_snapshots")),
    )  # fmt: skip
    if postgres:
        op.create_index("ix_communes_geom", "communes", ["geom"], postgresql_using="gist")
        op.create_index("ix_villages_geom", "villages", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_villages_geom", table_name="villages")
        op.drop_index("ix_communes_geom", table_name="communes")
    op.drop_table("progress_snapshots")
    op.drop_index("ix_cell_population_commune_code", table_name="cell_population")
    op.drop_table("cell_population")
    op.drop_index("ix_village_cells_h3_cell", table_name="village_cells")
    op.drop_table("village_cells")
    op.drop_index("ix_villages_commune_code", table_name="villages")
    op.drop_table("villages")
    op.drop_table("communes")
