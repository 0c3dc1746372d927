"""suppressions: contacts and addresses not to be reminded (bounces, opt-outs, complaints)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import plugin.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', plugin.db.UTCDateTime(), nullable=False),
    sa.Column('created_at', plugin.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('removed_at', plugin.db.UTCDateTime(), nullable=True),
    sa.Column('removed_by', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_suppressions_contact_id_contacts'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions'))
    )
    # Partial: only suppressions in force are in them, what every "is this contact suppressed" probe looks for.
    op.create_index('ix_suppressions_contact', 'suppressions', ['contact_id'], unique=False,
                    sqlite_where=sa.text('removed_at IS NULL'), postgresql_where=sa.text('removed_at IS NULL'))
    op.create_index('ix_suppressions_email', 'suppressions', ['email'], unique=False,
                    sqlite_where=sa.text('removed_at IS NULL'), postgresql_where=sa.text('removed_at IS NULL'))
    # the contacts a suppressed address names, found from the suppressions (the funnel's count)
    op.create_index('ix_contacts_email_address', 'contacts', [sa.text('lower(trim(email))')], unique=False)


def downgrade():
    op.drop_index('ix_contacts_email_address', table_name='contacts')
    op.drop_index('ix_suppressions_email', table_name='suppressions')
    op.drop_index('ix_suppressions_contact', table_name='suppressions')
    op.drop_table('suppressions')
