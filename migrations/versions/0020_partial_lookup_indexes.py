"""PostgreSQL: partial indexes on the dead decisions and on the unknown operator's
statistics, which the incremental run looks up around each batch
(``service.engine.incremental``); without them each lookup scanned its whole table.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_cell_status_dead", "cell_status", ["resolution", "radio", "h3_cell"],
        postgresql_where=sa.text("status = 'dead'"),
    )  # fmt: skip
    op.create_index(
        "ix_cell_stats_unknown_operator", "cell_stats", ["resolution", "h3_cell"],
        postgresql_where=sa.text("mnc = -1"),  # domain.radio.UNKNOWN_MNC
    )  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_cell_stats_unknown_operator", table_name="cell_stats")
    op.drop_index("ix_cell_status_dead", table_name="cell_status")
