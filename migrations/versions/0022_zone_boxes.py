"""The box of each dead zone's cell centres (degrees), so that the incremental run finds
the zones a covered cell gained or lost may be nearer to than their distance to signal
without reading every zone's cells (``service.engine.incremental``; docs/scale.md). The
active zones' boxes are computed from their cells; a zone written later carries its own.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import h3
import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("box_south", "box_north", "box_west", "box_east")


def upgrade() -> None:
    with op.batch_alter_table("dead_zones") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
    conn = op.get_bind()
    boxes = []
    for zone_id, cells in conn.execute(sa.text("SELECT id, cells FROM dead_zones WHERE active")):
        cells = json.loads(cells) if isinstance(cells, str) else cells  # SQLite: JSON text
        centres = [h3.cell_to_latlng(c) for c in cells]
        if centres:
            lats, lons = zip(*centres, strict=True)
            boxes.append(dict(id=zone_id, s=min(lats), n=max(lats), w=min(lons), e=max(lons)))
    if boxes:
        conn.execute(
            sa.text(
                "UPDATE dead_zones SET box_south = :s, box_north = :n, box_west = :w, "
                "box_east = :e WHERE id = :id"
            ),
            boxes,
        )


def downgrade() -> None:
    with op.batch_alter_table("dead_zones") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
