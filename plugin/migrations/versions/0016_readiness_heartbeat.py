"""readiness heartbeat: the one row /readyz writes, so a database that refuses writes is not ready

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 18:30:00

"""
from alembic import op
import sqlalchemy as sa

import plugin.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('readiness_heartbeat',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', plugin.db.UTCDateTime(), nullable=False),
    sa.Column('writer', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readiness_heartbeat'))
    )


def downgrade():
    op.drop_table('readiness_heartbeat')
