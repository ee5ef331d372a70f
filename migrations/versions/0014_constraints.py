"""Where sites can stand: imported power network and roads, as distances per cell.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.timestamps import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KIND = "kind IN ('power', 'road')"


def upgrade() -> None:
    op.create_table(
        "constraint_layers",
        sa.Column("kind", sa.String(length=8), nullable=False, comment="power or road"),
        sa.Column("source", sa.String(length=255), nullable=False, comment="file name imported"),
        sa.Column("features", sa.Integer(), nullable=False, comment="geometries used"),
        sa.Column("cells", sa.Integer(), nullable=False, comment="cells within max_distance_m"),
        sa.Column("max_distance_m", sa.Float(), nullable=False,
                  comment="largest distance kept, m"),
        sa.Column("imported_at", UTCDateTime(), nullable=False, comment="UTC"),
        sa.CheckConstraint(_KIND, name=op.f("ck_constraint_layers_kind")),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_constraint_layers")),
    )  # fmt: skip
    op.create_table(
        "constraint_cells",
        sa.Column("kind", sa.String(length=8), nullable=False, comment="power or road"),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False,
                  comment="to the nearest feature, metres"),
        sa.CheckConstraint(_KIND, name=op.f("ck_constraint_cells_kind")),
        sa.PrimaryKeyConstraint("kind", "h3_cell", name=op.f("pk_constraint_cells")),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("constraint_cells")
    op.drop_table("constraint_layers")
