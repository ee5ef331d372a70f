"""The estimated field per scope over radios: ``cell_estimates.radio`` ('any' or
'broadband'), part of the key; the rows so far were of any signal.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_cell_estimates_lookup", table_name="cell_estimates")
    with op.batch_alter_table("cell_estimates", recreate="always") as batch:
        batch.add_column(
            sa.Column("radio", sa.String(length=9), nullable=False, server_default="any",
                      comment="scope over radios: any or broadband")
        )  # fmt: skip
        batch.drop_constraint("pk_cell_estimates", type_="primary")
        batch.create_primary_key("pk_cell_estimates", ["h3_cell", "operator", "radio"])
    op.create_index(
        "ix_cell_estimates_lookup",
        "cell_estimates",
        ["operator", "radio", "resolution", "lat", "lon"],
        unique=False,
    )


def downgrade() -> None:
    op.execute("DELETE FROM cell_estimates WHERE radio <> 'any'")
    op.drop_index("ix_cell_estimates_lookup", table_name="cell_estimates")
    with op.batch_alter_table("cell_estimates", recreate="always") as batch:
        batch.drop_constraint("pk_cell_estimates", type_="primary")
        batch.create_primary_key("pk_cell_estimates", ["h3_cell", "operator"])
        batch.drop_column("radio")
    op.create_index(
        "ix_cell_estimates_lookup",
        "cell_estimates",
        ["operator", "resolution", "lat", "lon"],
        unique=False,
    )
