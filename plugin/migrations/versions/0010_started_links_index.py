"""started links index: the non-respondents who started and stopped, a page without reading every link

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # Partial: only links someone started are in it, so it stays small and costs nothing to links never opened.
    op.create_index('ix_links_started', 'links', ['survey_id', 'contact_id'], unique=False,
                    sqlite_where=sa.text('started_at IS NOT NULL'),
                    postgresql_where=sa.text('started_at IS NOT NULL'))


def downgrade():
    op.drop_index('ix_links_started', table_name='links')
