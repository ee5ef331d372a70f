"""Progress snapshots say which scope over radios they measured ('any' or 'broadband'): the
goal's (``DEADZONE_GOAL_RADIO``, default broadband); earlier snapshots measured any signal.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("progress_snapshots", "village_status_snapshots")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("radio", sa.String(length=9), nullable=False, server_default="any",
                          comment="scope measured: any or broadband")
            )  # fmt: skip


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("radio")
