"""Progress split into measured and estimated people, and a fixed panel of measured places
for the on-track verdict (service/areas/progress.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _new_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("people_estimated_covered", sa.Float(), nullable=False, server_default="0",
                  comment="not measured; estimated signal"),
        sa.Column("people_estimated_dead", sa.Float(), nullable=False, server_default="0",
                  comment="not measured; estimated no signal"),
        sa.Column("panel_since", sa.Date(), nullable=True,
                  comment="previous snapshot day the panel compares with"),
        sa.Column("panel_people", sa.Float(), nullable=True,
                  comment="people in cells measured at both snapshots"),
        sa.Column("panel_covered_before", sa.Float(), nullable=True,
                  comment="of them covered or weak at panel_since"),
        sa.Column("panel_covered", sa.Float(), nullable=True,
                  comment="of them covered or weak on this day"),
    )  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("progress_snapshots") as batch:
        for column in _new_columns():
            batch.add_column(column)
        batch.alter_column("people_unknown", existing_type=sa.Float(), existing_nullable=False,
                           comment="neither measured nor estimated",
                           existing_comment="undecided or never measured")  # fmt: skip
    op.create_table(
        "snapshot_cells",
        sa.Column("day", sa.Date(), nullable=False, comment="Vietnam day"),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("covered", sa.Boolean(), nullable=False, comment="covered or weak; false: dead"),
        sa.PrimaryKeyConstraint("day", "h3_cell", name=op.f("pk_snapshot_cells")),
    )


def downgrade() -> None:
    op.drop_table("snapshot_cells")
    with op.batch_alter_table("progress_snapshots") as batch:
        for column in reversed(_new_columns()):
            batch.drop_column(column.name)
        batch.alter_column("people_unknown", existing_type=sa.Float(), existing_nullable=False,
                           comment="undecided or never measured",
                           existing_comment="neither measured nor estimated")  # fmt: skip
