"""Readings stored raw, with their H3 cell and a generated point; ingest counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.spatial import Geometry, PointFromLonLat
from service.timestamps import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "readings",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("device_hash", sa.LargeBinary(length=16), nullable=False, comment="HMAC-SHA256 (first 16 bytes) of the device token"),
        sa.Column("reading_id", sa.String(length=128), nullable=False, comment="client-chosen id"),
        sa.Column("observed_at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.Column("received_at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.Column("lat", sa.Float(), nullable=False, comment="WGS84 degrees"),
        sa.Column("lon", sa.Float(), nullable=False, comment="WGS84 degrees"),
        sa.Column("accuracy_m", sa.Float(), nullable=True, comment="GPS accuracy, metres"),
        sa.Column("speed_mps", sa.Float(), nullable=True, comment="metres per second"),
        sa.Column("mcc", sa.SmallInteger(), nullable=False),
        sa.Column("mnc", sa.SmallInteger(), nullable=False),
        sa.Column("radio", sa.String(length=4), nullable=False),
        sa.Column("signal_dbm", sa.Float(), nullable=True, comment="dBm of the radio's metric"),
        sa.Column("no_service", sa.Boolean(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=True, comment="manual report, 0-4 bars"),
        sa.Column("calls_fail", sa.Boolean(), nullable=True),
        sa.Column("area_code", sa.BigInteger(), nullable=True, comment="LAC/TAC"),
        sa.Column("cell_id", sa.BigInteger(), nullable=True, comment="CID/ECI/NCI"),
        sa.Column("pci", sa.Integer(), nullable=True, comment="PCI or PSC"),
        sa.Column("arfcn", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False, comment="H3 cell, integer form"),
        sa.Column(
            "geom",
            Geometry("POINT"),
            sa.Computed(PointFromLonLat(sa.column("lon"), sa.column("lat"))),
            nullable=True,
            comment="generated from lon/lat",
        ),
        sa.CheckConstraint("radio IN ('gsm', 'umts', 'lte', 'nr')", name=op.f("ck_readings_radio")),
        sa.CheckConstraint(
            "(CASE WHEN signal_dbm IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN no_service THEN 1 ELSE 0 END)"
            " + (CASE WHEN level IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_readings_one_signal"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_readings")),
        sa.UniqueConstraint("device_hash", "reading_id", name=op.f("uq_readings_device_hash_reading_id")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_readings_geom", "readings", ["geom"], postgresql_using="gist")

    op.create_table(
        "rejection_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", "field", "code", name=op.f("pk_rejection_counts")),
    )
    op.create_table(
        "ingest_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", name=op.f("pk_ingest_counts")),
    )


def downgrade() -> None:
    op.drop_table("ingest_counts")
    op.drop_table("rejection_counts")
    op.drop_table("readings")
