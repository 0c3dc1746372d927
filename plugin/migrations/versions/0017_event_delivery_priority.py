"""outbound events: a delivery's priority (response events first), the waiting deliveries' index, the backlog

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import plugin.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default=sa.text('1'), nullable=False))
    # Deliveries still waiting when the upgrade runs: response events go first from now on (events.priority).
    op.execute("UPDATE event_deliveries SET priority = 0 WHERE event_id IN "
               "(SELECT id FROM event_outbox WHERE kind LIKE 'response.%')")
    # Partial: only waiting deliveries are in it, in the order they are claimed, however long the log grows.
    op.create_index('ix_event_deliveries_waiting', 'event_deliveries', ['priority', 'next_attempt_at', 'id'],
                    unique=False, sqlite_where=sa.text("status IN ('pending', 'failed')"),
                    postgresql_where=sa.text("status IN ('pending', 'failed')"))
    op.create_table('event_backlog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('since', plugin.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_backlog'))
    )


def downgrade():
    op.drop_table('event_backlog')
    op.drop_index('ix_event_deliveries_waiting', table_name='event_deliveries')
    with op.batch_alter_table('event_deliveries', schema=None) as batch_op:
        batch_op.drop_column('priority')
