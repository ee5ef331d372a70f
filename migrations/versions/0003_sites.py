"""Cell sites from OpenCelliD / MLS cell exports.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.spatial import Geometry
from service.timestamps import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("radio", sa.String(length=4), nullable=False),
        sa.Column("mcc", sa.SmallInteger(), nullable=False),
        sa.Column("mnc", sa.SmallInteger(), nullable=False),
        sa.Column("operator", sa.String(length=7), nullable=False,
                  comment="MCC-MNC, e.g. 452-04"),
        sa.Column("area", sa.Integer(), nullable=False,
                  comment="LAC (GSM/UMTS) or TAC (LTE/NR)"),
        sa.Column("cell", sa.BigInteger(), nullable=False,
                  comment="CID / UMTS long CID / ECI / NCI"),
        sa.Column("unit", sa.Integer(), nullable=True, comment="PSC (UMTS) or PCI (LTE/NR)"),
        sa.Column("lat", sa.Float(), nullable=False, comment="WGS84 degrees"),
        sa.Column("lon", sa.Float(), nullable=False, comment="WGS84 degrees"),
        sa.Column("range_m", sa.Integer(), nullable=True,
                  comment="estimated cell radius, metres"),
        sa.Column("samples", sa.Integer(), nullable=True, comment="measurements behind it"),
        sa.Column("changeable", sa.Boolean(), nullable=True,
                  comment="true: position computed from measurements; false: exact"),
        sa.Column("created", UTCDateTime(), nullable=True, comment="UTC, from the export"),
        sa.Column("updated", UTCDateTime(), nullable=True, comment="UTC, from the export"),
        sa.Column("average_signal", sa.SmallInteger(), nullable=True, comment="dBm"),
        sa.Column("geom", Geometry("POINT"), nullable=False, comment="from lon/lat on import"),
        sa.Column("imported_at", UTCDateTime(), nullable=False, comment="UTC, last written"),
        sa.CheckConstraint("radio IN ('gsm', 'umts', 'lte', 'nr')", name=op.f("ck_sites_radio")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("radio", "mcc", "mnc", "area", "cell",
                            name=op.f("uq_sites_radio_mcc_mnc_area_cell")),
    )  # fmt: skip
    op.create_index("ix_sites_operator", "sites", ["operator"])
    op.create_index("ix_sites_lat_lon", "sites", ["lat", "lon"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_sites_geom", "sites", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_sites_geom", table_name="sites")
    op.drop_index("ix_sites_lat_lon", table_name="sites")
    op.drop_index("ix_sites_operator", table_name="sites")
    op.drop_table("sites")
