"""Coverage engine: mergeable cell statistics, devices, decisions, dead zones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.spatial import Geometry
from service.timestamps import UTCDateTime


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('aggregation_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=False),
    sa.Column('max_seq', sa.BigInteger(), nullable=False, comment='newest reading included'),
    sa.Column('cells', sa.Integer(), nullable=False),
    sa.Column('zones', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aggregation_runs'))
    )
    op.create_table('aggregation_state',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_aggregation_state'))
    )
    op.create_table('cell_devices',
    sa.Column('h3_cell', sa.BigInteger(), nullable=False),
    sa.Column('mcc', sa.SmallInteger(), nullable=False),
    sa.Column('mnc', sa.SmallInteger(), nullable=False),
    sa.Column('radio', sa.String(length=4), nullable=False),
    sa.Column('bucket', sa.Date(), nullable=False),
    sa.Column('device_hash', sa.LargeBinary(length=16), nullable=False),
    sa.PrimaryKeyConstraint('h3_cell', 'mcc', 'mnc', 'radio', 'bucket', 'device_hash', name=op.f('pk_cell_devices'))
    )
    op.create_table('cell_stats',
    sa.Column('h3_cell', sa.BigInteger(), nullable=False),
    sa.Column('mcc', sa.SmallInteger(), nullable=False),
    sa.Column('mnc', sa.SmallInteger(), nullable=False),
    sa.Column('radio', sa.String(length=4), nullable=False),
    sa.Column('bucket', sa.Date(), nullable=False, comment='first day of month'),
    sa.Column('resolution', sa.SmallInteger(), nullable=False),
    sa.Column('readings', sa.BigInteger(), nullable=False),
    sa.Column('measured', sa.BigInteger(), nullable=False, comment='readings with a dBm value'),
    sa.Column('manual', sa.BigInteger(), nullable=False, comment="residents' reports (bars)"),
    sa.Column('no_service', sa.BigInteger(), nullable=False),
    sa.Column('weight_covered', sa.BigInteger(), nullable=False, comment='evidence weight of covered readings (2 full, 1 reduced)'),
    sa.Column('weight_weak', sa.BigInteger(), nullable=False),
    sa.Column('weight_dead', sa.BigInteger(), nullable=False),
    sa.Column('power_sum_aw', sa.BigInteger(), nullable=False, comment='sum of received power in attowatts (1e-18 W), measured readings'),
    sa.Column('dbm_min', sa.Float(), nullable=True),
    sa.Column('dbm_max', sa.Float(), nullable=True),
    sa.Column('days_mask', sa.BigInteger(), nullable=False, comment='bit d-1 set: day d had readings'),
    sa.Column('first_seen', UTCDateTime(), nullable=False),
    sa.Column('last_seen', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('h3_cell', 'mcc', 'mnc', 'radio', 'bucket', name=op.f('pk_cell_stats'))
    )
    with op.batch_alter_table('cell_stats', schema=None) as batch_op:
        batch_op.create_index('ix_cell_stats_resolution_bucket', ['resolution', 'bucket'], unique=False)

    op.create_table('cell_status',
    sa.Column('h3_cell', sa.BigInteger(), nullable=False),
    sa.Column('operator', sa.String(length=7), nullable=False, comment='452-04 or any'),
    sa.Column('radio', sa.String(length=4), nullable=False, comment='lte... or any'),
    sa.Column('resolution', sa.SmallInteger(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False, comment='cell centre, WGS84 degrees'),
    sa.Column('lon', sa.Float(), nullable=False, comment='cell centre, WGS84 degrees'),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False, comment='Wilson 95% lower bound, 0-1'),
    sa.Column('readings', sa.Integer(), nullable=False),
    sa.Column('devices', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('no_service_share', sa.Float(), nullable=False),
    sa.Column('dead_share', sa.Float(), nullable=False, comment='weighted share of dead readings'),
    sa.Column('signal_dbm_mean', sa.Float(), nullable=True, comment='mean power, dBm'),
    sa.Column('first_seen', UTCDateTime(), nullable=False),
    sa.Column('last_seen', UTCDateTime(), nullable=False),
    sa.Column('evidence_from', sa.Date(), nullable=False, comment='oldest month used'),
    sa.CheckConstraint("status IN ('covered', 'weak', 'dead', 'unknown')", name=op.f('ck_cell_status_status')),
    sa.PrimaryKeyConstraint('h3_cell', 'operator', 'radio', name=op.f('pk_cell_status'))
    )
    with op.batch_alter_table('cell_status', schema=None) as batch_op:
        batch_op.create_index('ix_cell_status_lookup', ['operator', 'radio', 'resolution', 'lat', 'lon'], unique=False)

    op.create_table('dead_zones',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('operator', sa.String(length=7), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False, comment='false once the zone is gone'),
    sa.Column('state', sa.String(length=8), nullable=False, comment='open, planned or built'),
    sa.Column('cells', sa.JSON(), nullable=False, comment='H3 cells (strings)'),
    sa.Column('cell_count', sa.Integer(), nullable=False),
    sa.Column('resolution', sa.SmallInteger(), nullable=False),
    sa.Column('area_km2', sa.Float(), nullable=False),
    sa.Column('outline', Geometry("MULTIPOLYGON"), nullable=False),
    sa.Column('readings', sa.Integer(), nullable=False),
    sa.Column('devices', sa.Integer(), nullable=False),
    sa.Column('first_seen', UTCDateTime(), nullable=False),
    sa.Column('last_seen', UTCDateTime(), nullable=False),
    sa.Column('operators_affected', sa.JSON(), nullable=False),
    sa.Column('distance_to_covered_m', sa.Float(), nullable=True, comment='from the zone to the nearest covered cell centre, metres'),
    sa.Column('population', sa.Float(), nullable=True),
    sa.Column('villages', sa.JSON(), nullable=True),
    sa.Column('priority', sa.Float(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_zones'))
    )
    with op.batch_alter_table('dead_zones', schema=None) as batch_op:
        batch_op.create_index('ix_dead_zones_operator_active', ['operator', 'active'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_dead_zones_outline", "dead_zones", ["outline"], postgresql_using="gist")



def downgrade() -> None:
    with op.batch_alter_table('dead_zones', schema=None) as batch_op:
        batch_op.drop_index('ix_dead_zones_operator_active')

    op.drop_table('dead_zones')
    with op.batch_alter_table('cell_status', schema=None) as batch_op:
        batch_op.drop_index('ix_cell_status_lookup')

    op.drop_table('cell_status')
    with op.batch_alter_table('cell_stats', schema=None) as batch_op:
        batch_op.drop_index('ix_cell_stats_resolution_bucket')

    op.drop_table('cell_stats')
    op.drop_table('cell_devices')
    op.drop_table('aggregation_state')
    op.drop_table('aggregation_runs')
