"""Estimated coverage per cell and operator (the kriged signal field).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cell_estimates",
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("operator", sa.String(length=7), nullable=False, comment="452-04 or any"),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False, comment="cell centre, WGS84 degrees"),
        sa.Column("lon", sa.Float(), nullable=False, comment="cell centre, WGS84 degrees"),
        sa.Column("p_dead", sa.Float(), nullable=False,
                  comment="probability the cell is dead, 0-1"),
        sa.Column("p_covered", sa.Float(), nullable=False,
                  comment="probability it is covered, 0-1"),
        sa.Column("estimate_dbm", sa.Float(), nullable=False,
                  comment="LTE RSRP equivalent, dBm"),
        sa.Column("estimate_sd", sa.Float(), nullable=False, comment="sd of the estimate, dB"),
        sa.Column("inferred_status", sa.String(length=8), nullable=True,
                  comment="null: measured, or no status probable enough"),
        sa.Column("evidence_distance_m", sa.Float(), nullable=False,
                  comment="to the nearest cell with readings of the scope, metres"),
        sa.CheckConstraint(
            "inferred_status IS NULL OR inferred_status IN ('covered', 'weak', 'dead')",
            name=op.f("ck_cell_estimates_inferred_status"),
        ),
        sa.PrimaryKeyConstraint("h3_cell", "operator", name=op.f("pk_cell_estimates")),
    )  # fmt: skip
    op.create_index(
        "ix_cell_estimates_lookup",
        "cell_estimates",
        ["operator", "resolution", "lat", "lon"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_cell_estimates_lookup", table_name="cell_estimates")
    op.drop_table("cell_estimates")
