"""PostgreSQL: readings partitioned by month; the (device, id) rule moves to reading_keys.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Why and how resubmission stays idempotent: ``service.store.partitions``. SQLite keeps its
one table and is not touched. The old table's rows are copied in ``seq`` order and the
``seq`` sequence carries on, so watermarks and statistics stay valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from service.store.bulk import READING_COLUMNS
from service.store.partitions import (
    DEFAULT_PARTITION,
    month_start,
    next_month,
    partition_name,
)
from service.store.spatial import Geometry, PointFromLonLat
from service.timestamps import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLS = ", ".join(("seq", *READING_COLUMNS))
_CHECKS = (
    "radio IN ('gsm', 'umts', 'lte', 'nr')",
    "(CASE WHEN signal_dbm IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN no_service THEN 1 ELSE 0 END)"
    " + (CASE WHEN level IS NULL THEN 0 ELSE 1 END) = 1",
)


def _columns(seq: sa.Column) -> list[sa.Column]:
    return [
        seq,
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
            "geom", Geometry("POINT"), sa.Computed(PointFromLonLat(sa.column("lon"), sa.column("lat"))),
            nullable=True, comment="generated from lon/lat",
        ),
    ]


def _months(first: date, last: date) -> list[date]:
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE readings RENAME TO readings_unpartitioned")
    op.execute("ALTER INDEX pk_readings RENAME TO pk_readings_unpartitioned")
    op.execute("ALTER INDEX uq_readings_device_hash_reading_id RENAME TO uq_readings_unpartitioned")
    op.execute("ALTER INDEX ix_readings_geom RENAME TO ix_readings_unpartitioned_geom")
    seq = sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False, server_default=sa.text("nextval('readings_seq_seq'::regclass)"))
    op.create_table(
        "readings",
        *_columns(seq),
        sa.CheckConstraint(_CHECKS[0], name=op.f("ck_readings_radio")),
        sa.CheckConstraint(_CHECKS[1], name=op.f("ck_readings_one_signal")),
        # A partitioned table's primary key must hold the partition key.
        sa.PrimaryKeyConstraint("seq", "observed_at", name=op.f("pk_readings")),
        postgresql_partition_by="RANGE (observed_at)",
    )
    op.create_index("ix_readings_geom", "readings", ["geom"], postgresql_using="gist")
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF readings DEFAULT")
    # Months of the stored readings, and the retention window (400 days) to 3 months on.
    today = datetime.now(UTC).date()
    oldest, newest = bind.execute(sa.text(
        "SELECT min(observed_at AT TIME ZONE 'UTC'), max(observed_at AT TIME ZONE 'UTC')"
        " FROM readings_unpartitioned"
    )).one()
    # Retention is 400 days by default: partitions from 14 months back to 3 months on;
    # older or newer stored months get theirs too, anything else lands in the default.
    this_month = month_start(today)
    window = (date(this_month.year - 1, this_month.month, 1) - timedelta(days=40), this_month)
    first = min(filter(None, (oldest and oldest.date(), window[0])))
    last = max(filter(None, (newest and newest.date(), window[1] + timedelta(days=100))))
    for month in _months(first, last):
        name = partition_name(month)
        op.execute(
            f"CREATE TABLE {name} PARTITION OF readings FOR VALUES FROM"
            f" ('{month} 00:00:00+00') TO ('{next_month(month)} 00:00:00+00')"
        )
    op.execute(f"INSERT INTO readings ({_COLS}) SELECT {_COLS} FROM readings_unpartitioned ORDER BY seq")
    op.create_table(
        "reading_keys",
        sa.Column("device_hash", sa.LargeBinary(length=16), nullable=False),
        sa.Column("reading_id", sa.String(length=128), nullable=False),
        sa.Column("observed_at", UTCDateTime(), nullable=False, comment="UTC; keys of dropped months are deleted by this"),
        sa.PrimaryKeyConstraint("device_hash", "reading_id", name=op.f("pk_reading_keys")),
    )
    op.execute(
        "INSERT INTO reading_keys (device_hash, reading_id, observed_at)"
        " SELECT device_hash, reading_id, observed_at FROM readings_unpartitioned"
    )
    op.execute("ALTER SEQUENCE readings_seq_seq OWNED BY readings.seq")
    op.execute("DROP TABLE readings_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE readings RENAME TO readings_partitioned")
    op.execute("ALTER INDEX pk_readings RENAME TO pk_readings_partitioned")
    op.execute("ALTER INDEX ix_readings_geom RENAME TO ix_readings_partitioned_geom")
    seq = sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False, server_default=sa.text("nextval('readings_seq_seq'::regclass)"))
    op.create_table(
        "readings",
        *_columns(seq),
        sa.CheckConstraint(_CHECKS[0], name=op.f("ck_readings_radio")),
        sa.CheckConstraint(_CHECKS[1], name=op.f("ck_readings_one_signal")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_readings")),
        sa.UniqueConstraint("device_hash", "reading_id", name=op.f("uq_readings_device_hash_reading_id")),
    )
    op.create_index("ix_readings_geom", "readings", ["geom"], postgresql_using="gist")
    op.execute(f"INSERT INTO readings ({_COLS}) SELECT {_COLS} FROM readings_partitioned ORDER BY seq")
    op.execute("ALTER SEQUENCE readings_seq_seq OWNED BY readings.seq")
    op.execute("DROP TABLE readings_partitioned")
    op.drop_table("reading_keys")
