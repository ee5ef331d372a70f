"""Commitments, claimed coverage, the audit trail and village status history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.timestamps import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only numbers an INTEGER PRIMARY KEY automatically; BIGINT on PostgreSQL.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "village_status_snapshots",
        sa.Column("day", sa.Date(), nullable=False, comment="UTC day"),
        sa.Column("village_code", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False,
                  comment="trang_song, lom_song..."),
        sa.PrimaryKeyConstraint("day", "village_code", name=op.f("pk_village_status_snapshots")),
    )  # fmt: skip
    op.create_table(
        "claims",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("operator", sa.String(length=7), nullable=False,
                  comment="MCC-MNC, e.g. 452-04"),
        sa.Column("radio", sa.String(length=9), nullable=False, comment="lte, nr or broadband"),
        sa.Column("source", sa.String(length=255), nullable=False,
                  comment="file name as imported"),
        sa.Column("cells", sa.Integer(), nullable=False, comment="working cells claimed covered"),
        sa.Column("imported_at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.Column("imported_by", sa.String(length=200), nullable=False,
                  comment="who imported it"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )  # fmt: skip
    op.create_table(
        "claimed_cells",
        sa.Column("operator", sa.String(length=7), nullable=False),
        sa.Column("radio", sa.String(length=9), nullable=False),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("claim_id", sa.BigInteger(), nullable=False,
                  comment="claims.id that put it here"),
        sa.PrimaryKeyConstraint("operator", "radio", "h3_cell", name=op.f("pk_claimed_cells")),
    )  # fmt: skip
    op.create_table(
        "commitments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("operator", sa.String(length=7), nullable=False,
                  comment="MCC-MNC, e.g. 452-04"),
        sa.Column("zone_id", sa.String(length=32), nullable=True,
                  comment="dead zone it was made for"),
        sa.Column("village_code", sa.String(length=32), nullable=True,
                  comment="or the village"),
        sa.Column("cells", sa.JSON(), nullable=False, comment="H3 cells (strings), frozen"),
        sa.Column("centre", sa.String(length=16), nullable=False,
                  comment="H3 cell nearest the centre"),
        sa.Column("due", sa.Date(), nullable=False, comment="signal promised by this day"),
        sa.Column("state", sa.String(length=8), nullable=False,
                  comment="assigned, planned or on_air"),
        sa.Column("on_air_at", UTCDateTime(), nullable=True, comment="UTC"),
        sa.Column("site", sa.JSON(), nullable=True, comment="the new site"),
        sa.Column("created_at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.Column("updated_at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.CheckConstraint("state IN ('assigned', 'planned', 'on_air')",
                           name=op.f("ck_commitments_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )  # fmt: skip
    op.create_index("ix_commitments_operator", "commitments", ["operator"])
    op.create_table(
        "audit_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.Column("actor", sa.String(length=200), nullable=False,
                  comment="the key's name, or the CLI user"),
        sa.Column("action", sa.String(length=32), nullable=False,
                  comment="created, updated, imported"),
        sa.Column("subject", sa.String(length=64), nullable=False,
                  comment="commitment:12, claim:452-04/lte"),
        sa.Column("detail", sa.JSON(), nullable=False, comment="what changed"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )  # fmt: skip
    op.create_index("ix_audit_events_subject", "audit_events", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_subject", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_commitments_operator", table_name="commitments")
    op.drop_table("commitments")
    op.drop_table("claimed_cells")
    op.drop_table("claims")
    op.drop_table("village_status_snapshots")
