"""Incremental aggregation: cells waiting for new decisions, each dead cell's zone, and
the operator scopes each run changed (for the map pages' cache).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dirty_cells",
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("mcc", sa.SmallInteger(), nullable=False),
        sa.Column("mnc", sa.SmallInteger(), nullable=False),
        sa.Column("radio", sa.String(length=4), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False,
                  comment="newest reading seq that changed it: a run clears only what it saw"),
        sa.PrimaryKeyConstraint("h3_cell", "mcc", "mnc", "radio", name=op.f("pk_dirty_cells")),
    )
    op.create_table(
        "zone_cells",
        sa.Column("operator", sa.String(length=7), nullable=False, comment="452-04 or any"),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("zone_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("operator", "h3_cell", name=op.f("pk_zone_cells")),
    )
    op.create_index("ix_zone_cells_zone_id", "zone_cells", ["zone_id"])
    op.add_column(
        "aggregation_runs",
        sa.Column("scopes", sa.JSON(), nullable=True,
                  comment="operator scopes an incremental run changed; null: all"),
    )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("aggregation_runs") as batch:
        batch.drop_column("scopes")
    op.drop_index("ix_zone_cells_zone_id", table_name="zone_cells")
    op.drop_table("zone_cells")
    op.drop_table("dirty_cells")
