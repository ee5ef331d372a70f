"""Radio 'unknown' on readings: a manual or no-service report that does not know its radio.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.spatial import Geometry, PointFromLonLat

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RADIOS_BEFORE = "radio IN ('gsm', 'umts', 'lte', 'nr')"
_RADIOS_AFTER = "radio IN ('gsm', 'umts', 'lte', 'nr', 'unknown')"
_COMMENT = {7: "gsm, umts, lte, nr or unknown", 4: None}
# Tables keyed by a reading's radio, which may now be 'unknown' (7 characters).
_KEYED = ("cell_stats", "cell_devices", "dirty_cells")


def _readings_radio(width: int, check: str) -> None:
    before = sa.String(length=4 if width == 7 else 7)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_readings_radio"), "readings", type_="check")
        op.alter_column("readings", "radio", existing_type=before, type_=sa.String(length=width),
                        existing_nullable=False, comment=_COMMENT[width])  # fmt: skip
        op.create_check_constraint(op.f("ck_readings_radio"), "readings", check)
        return
    # SQLite cannot alter a CHECK constraint, so batch mode copies the table; it cannot
    # copy into a generated column, so the generated point (virtual, no data of its own) is
    # dropped for the copy and added back, last as it was.
    with op.batch_alter_table("readings") as batch:
        batch.drop_column("geom")
        batch.drop_constraint(op.f("ck_readings_radio"), type_="check")
        batch.alter_column("radio", existing_type=before, type_=sa.String(length=width),
                           existing_nullable=False, comment=_COMMENT[width])  # fmt: skip
        batch.create_check_constraint(op.f("ck_readings_radio"), check)
    op.add_column(
        "readings",
        sa.Column(
            "geom",
            Geometry("POINT"),
            sa.Computed(PointFromLonLat(sa.column("lon"), sa.column("lat"))),
            nullable=True,
            comment="generated from lon/lat",
        ),
    )


def upgrade() -> None:
    _readings_radio(7, _RADIOS_AFTER)
    for table in _KEYED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "radio", existing_type=sa.String(length=4), type_=sa.String(length=7),
                existing_nullable=False,
            )  # fmt: skip


def downgrade() -> None:
    for table in _KEYED:
        op.execute(f"DELETE FROM {table} WHERE radio = 'unknown'")
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "radio", existing_type=sa.String(length=7), type_=sa.String(length=4),
                existing_nullable=False,
            )  # fmt: skip
    op.execute("DELETE FROM readings WHERE radio = 'unknown'")
    _readings_radio(4, _RADIOS_BEFORE)
