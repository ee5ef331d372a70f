"""Site plans kept under a name, and the PostGIS view ``plan_sites`` QGIS opens.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.spatial import Geometry
from service.timestamps import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per site of every saved plan (docs/qgis.md): the site's point as ``geom`` and the
# hexagons of the people it reaches as ``coverage`` (QGIS offers each geometry column as a
# layer), with the plan's request and model beside it. ``id`` is the key QGIS asks for.
PLAN_SITES_VIEW = """
    CREATE VIEW plan_sites AS
    SELECT p.name || '#' || s.rank AS id, p.name AS plan, s.rank, s.h3, p.operator,
           (p.model ->> 'band_mhz')::float AS band_mhz,
           (p.model ->> 'mast_height_m')::float AS mast_height_m,
           (p.model ->> 'eirp_dbm')::float AS eirp_dbm, p.model ->> 'name' AS model,
           p.terrain, s.radius_km, s.people_new, s.people_cumulative, s.people_reached,
           s.villages::text AS villages, p.request::text AS request, p.saved_at, s.lat, s.lon,
           s.geom::geometry(Point, 4326) AS geom,
           s.coverage::geometry(MultiPolygon, 4326) AS coverage
    FROM saved_plan_sites s
    JOIN saved_plans p ON p.name = s.plan
"""


def upgrade() -> None:
    op.create_table(
        "saved_plans",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("operator", sa.String(length=7), nullable=False, comment="452-04 or any"),
        sa.Column("sites_asked", sa.Integer(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False,
                  comment="band, mast, EIRP, area, co-location and constraints asked"),
        sa.Column("model", sa.JSON(), nullable=False, comment="propagation model used"),
        sa.Column("terrain", sa.String(length=200), nullable=False),
        sa.Column("people_without_signal", sa.Float(), nullable=False),
        sa.Column("people_covered", sa.Float(), nullable=False,
                  comment="by all the sites together"),
        sa.Column("explanation", sa.String(length=2000), nullable=True),
        sa.Column("saved_at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_saved_plans")),
    )  # fmt: skip
    op.create_table(
        "saved_plan_sites",
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("h3", sa.String(length=16), nullable=False,
                  comment="candidate cell (hexadecimal)"),
        sa.Column("lat", sa.Float(), nullable=False, comment="WGS84 degrees"),
        sa.Column("lon", sa.Float(), nullable=False, comment="WGS84 degrees"),
        sa.Column("people_new", sa.Float(), nullable=False, comment="people newly covered"),
        sa.Column("people_cumulative", sa.Float(), nullable=False),
        sa.Column("people_reached", sa.Float(), nullable=False,
                  comment="people without signal within its reach, new or not"),
        sa.Column("villages", sa.JSON(), nullable=False, comment="newly covered"),
        sa.Column("radius_km", sa.Float(), nullable=False, comment="the model's flat radius"),
        sa.Column("geom", Geometry("POINT"), nullable=False, comment="the site, WGS84"),
        sa.Column("coverage", Geometry("MULTIPOLYGON"), nullable=False,
                  comment="hexagons of the people it reaches, WGS84"),
        sa.PrimaryKeyConstraint("plan", "rank", name=op.f("pk_saved_plan_sites")),
    )  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PLAN_SITES_VIEW)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP VIEW IF EXISTS plan_sites")
    op.drop_table("saved_plan_sites")
    op.drop_table("saved_plans")
