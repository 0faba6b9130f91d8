"""jobs: attempts, heartbeat, worker, time limit, figures and duration for the runners

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('figures', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('attempt', sa.Integer(), server_default='1', nullable=False))
        batch.add_column(sa.Column('max_attempts', sa.Integer(), server_default='1', nullable=False))
        batch.add_column(sa.Column('time_limit_s', sa.Float(), nullable=True))
        batch.add_column(sa.Column('worker', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('duration_s', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        for column in ('duration_s', 'heartbeat_at', 'worker', 'time_limit_s', 'max_attempts', 'attempt',
                       'figures'):
            batch.drop_column(column)
