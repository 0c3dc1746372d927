"""anonymous surveys: the survey's mode, one-time ticket hashes, pending host erasures, per-survey tallies

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import plugin.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on surveys, not a batch: on SQLite a batch copies and drops the table, and dropping it would
# cascade to every link (ON DELETE CASCADE), as 0007 explains.
def upgrade():
    op.add_column('surveys', sa.Column('anonymous', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('surveys', sa.Column('anonymous_since', plugin.db.UTCDateTime(), nullable=True))
    # No row id: the hash is the key, so nothing orders the tickets by the time they were made.
    op.create_table('anonymous_tickets',
                    sa.Column('hash', sa.String(length=64), nullable=False),
                    sa.Column('link_id', sa.Integer(), nullable=False),
                    sa.Column('created_on', sa.Date(), nullable=False),
                    sa.ForeignKeyConstraint(['link_id'], ['links.id'], name=op.f('fk_anonymous_tickets_link_id_links'),
                                            ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('hash', name=op.f('pk_anonymous_tickets')))
    op.create_index(op.f('ix_anonymous_tickets_link_id'), 'anonymous_tickets', ['link_id'], unique=False)
    op.create_table('host_erasures',
                    sa.Column('response_id', sa.String(length=255), nullable=False),
                    sa.Column('survey_id', sa.String(length=255), nullable=False),
                    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
                    sa.Column('next_attempt_at', plugin.db.UTCDateTime(), nullable=False),
                    sa.Column('last_status', sa.Integer(), nullable=True),
                    sa.Column('last_error', sa.Text(), nullable=True),
                    sa.PrimaryKeyConstraint('response_id', name=op.f('pk_host_erasures')))
    op.create_index(op.f('ix_host_erasures_survey_id'), 'host_erasures', ['survey_id'], unique=False)
    op.create_index(op.f('ix_host_erasures_next_attempt_at'), 'host_erasures', ['next_attempt_at'], unique=False)
    op.create_table('anonymous_tallies',
                    sa.Column('survey_id', sa.String(length=255), nullable=False),
                    *[sa.Column(name, sa.Integer(), server_default=sa.text('0'), nullable=False)
                      for name in ('duplicates', 'late', 'rejected', 'unmatched', 'erased')],
                    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'],
                                            name=op.f('fk_anonymous_tallies_survey_id_surveys'), ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('survey_id', name=op.f('pk_anonymous_tallies')))


def downgrade():
    op.drop_table('anonymous_tallies')
    op.drop_index(op.f('ix_host_erasures_next_attempt_at'), table_name='host_erasures')
    op.drop_index(op.f('ix_host_erasures_survey_id'), table_name='host_erasures')
    op.drop_table('host_erasures')
    op.drop_index(op.f('ix_anonymous_tickets_link_id'), table_name='anonymous_tickets')
    op.drop_table('anonymous_tickets')
    op.drop_column('surveys', 'anonymous_since')
    op.drop_column('surveys', 'anonymous')
