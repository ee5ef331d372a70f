"""A partial index on the covered decisions (with their cell), which the incremental run
reads in a box around each dead zone it rewrites (``service.engine.incremental``); through
``ix_cell_status_lookup`` each box scanned its latitude band of every decision across
the province. Built on both databases.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED_ONLY = "status = 'covered'"  # as service.store.models.COVERED_ONLY


def upgrade() -> None:
    op.create_index(
        "ix_cell_status_covered", "cell_status",
        ["operator", "radio", "resolution", "lat", "lon", "h3_cell"],
        sqlite_where=sa.text(COVERED_ONLY), postgresql_where=sa.text(COVERED_ONLY),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_cell_status_covered", table_name="cell_status")
