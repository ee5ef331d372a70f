"""Device trust: each token's upload history, the evidence of untrusted tokens kept apart,
and the decision 'contested' (docs/forged-evidence.md).

Devices already stored are backfilled from their readings (upload days from ``received_at``)
and marked trusted, as the evidence they sent was before these rules; the first aggregation
after the upgrade runs in full (the rules changed) and withdraws trust from the tokens with
too short a history, rebuilding their provisional statistics then.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.timestamps import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = "status IN ('covered', 'weak', 'dead', 'unknown')"
_AFTER = "status IN ('covered', 'weak', 'dead', 'unknown', 'contested')"

# PostgreSQL will not change the type of a column a view reads: the QGIS view (as
# migrations 0011-0012 define it) is dropped and made again around the change.
_QGIS_DECIDED_CELLS = """
    CREATE VIEW qgis_decided_cells AS
    SELECT lower(to_hex(s.h3_cell)) AS h3, s.operator, s.radio, s.resolution, s.status,
           s.confidence, s.readings, s.devices, s.days, s.no_service_share,
           s.signal_dbm_mean, s.first_seen, s.last_seen, s.lat, s.lon,
           h.geom::geometry(Polygon, 4326) AS geom
    FROM cell_status s
    JOIN cell_hexagons h ON h.h3_cell = s.h3_cell
"""


def _status(width: int, check: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP VIEW IF EXISTS qgis_decided_cells")
    with op.batch_alter_table("cell_status") as batch:
        batch.drop_constraint(op.f("ck_cell_status_status"), type_="check")
        batch.alter_column("status", existing_type=sa.String(length=17 - width),
                           type_=sa.String(length=width), existing_nullable=False)  # fmt: skip
        batch.create_check_constraint(op.f("ck_cell_status_status"), check)
    if postgres:
        op.execute(_QGIS_DECIDED_CELLS)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_hash", sa.LargeBinary(length=16), nullable=False),
        sa.Column("network", sa.LargeBinary(length=8), nullable=True,
                  comment="keyed hash of the client network of its first upload; null: not known"),
        sa.Column("first_received", UTCDateTime(), nullable=False, comment="UTC"),
        sa.Column("last_day", sa.Date(), nullable=False, comment="UTC day of its latest upload"),
        sa.Column("upload_days", sa.Integer(), nullable=False,
                  comment="distinct UTC days with uploads"),
        sa.Column("trusted", sa.Boolean(), nullable=False,
                  comment="set by the engine when its statistics merge (trust_upload_days)"),
        sa.PrimaryKeyConstraint("device_hash", name=op.f("pk_devices")),
    )  # fmt: skip
    op.create_table(
        "provisional_stats",
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("mcc", sa.SmallInteger(), nullable=False),
        sa.Column("mnc", sa.SmallInteger(), nullable=False),
        sa.Column("radio", sa.String(length=7), nullable=False),
        sa.Column("bucket", sa.Date(), nullable=False, comment="first day of month"),
        sa.Column("device_hash", sa.LargeBinary(length=16), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in (
            "readings", "measured", "manual", "no_service", "weight_covered", "weight_weak",
            "weight_dead", "power_sum_aw",
        )),
        sa.PrimaryKeyConstraint("h3_cell", "mcc", "mnc", "radio", "bucket", "device_hash",
                                name=op.f("pk_provisional_stats")),
    )  # fmt: skip
    day = (
        "date(received_at AT TIME ZONE 'UTC')"
        if op.get_bind().dialect.name == "postgresql"
        else "date(received_at)"
    )
    op.execute(
        f"""
        INSERT INTO devices (device_hash, network, first_received, last_day, upload_days,
                             trusted)
        SELECT device_hash, NULL, min(received_at), max({day}), count(DISTINCT {day}), TRUE
        FROM readings GROUP BY device_hash
        """
    )
    _status(9, _AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM cell_status WHERE status = 'contested'")
    _status(8, _BEFORE)
    op.drop_table("provisional_stats")
    op.drop_table("devices")
