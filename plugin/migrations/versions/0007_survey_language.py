"""survey language: the language of a survey's respondent pages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: on SQLite a batch copies and drops the surveys table, and dropping it would
# cascade to every link (ON DELETE CASCADE). Both databases add and drop a column in place.
def upgrade():
    op.add_column('surveys', sa.Column('language', sa.String(length=35), nullable=True))


def downgrade():
    op.drop_column('surveys', 'language')
