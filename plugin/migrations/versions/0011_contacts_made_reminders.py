"""contacts made, reminder batches, idempotency keys

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import plugin.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reminder_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('cadence', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('created_at', plugin.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', plugin.db.UTCDateTime(), nullable=False),
    sa.Column('closed_at', plugin.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_reminder_batches_survey_id_surveys'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_batches'))
    )
    with op.batch_alter_table('reminder_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_batches_survey_id'), ['survey_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_batches_expires_at'), ['expires_at'], unique=False)

    op.create_table('contacts_made',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.String(length=255), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('sent_at', plugin.db.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('recorded_at', plugin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_contacts_made_survey_id_surveys'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contacts_made_contact_id_contacts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['link_id'], ['links.id'], name=op.f('fk_contacts_made_link_id_links'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['batch_id'], ['reminder_batches.id'],
                            name=op.f('fk_contacts_made_batch_id_reminder_batches'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts_made'))
    )
    with op.batch_alter_table('contacts_made', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_made_link_id'), ['link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_made_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_contacts_made_survey_contact', ['survey_id', 'contact_id', 'sent_at'],
                              unique=False)
    # the open claim: one pending reminder per contact and survey, taken by INSERT ... ON CONFLICT DO NOTHING
    op.create_index('uq_contacts_made_open_claim', 'contacts_made', ['survey_id', 'contact_id'], unique=True,
                    sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('idempotency_keys',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('created_at', plugin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_idempotency_keys'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)


def downgrade():
    op.drop_table('idempotency_keys')
    op.drop_index('uq_contacts_made_open_claim', table_name='contacts_made')
    op.drop_table('contacts_made')
    op.drop_table('reminder_batches')
