"""revocations hold: a contact's revoked link stays its current one

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:30:00

Data only, no schema change. Revoking used to clear ``is_current``, so the next segment download silently gave
the contact a new link. Now a revoked link stays current (the contact is left out until an admin re-issues):
this makes links revoked before the upgrade hold the same way, when they are the newest link of their contact
and survey, nothing replaced them, the contact is not deleted, and they were not revoked because the contact
was deleted. Downgrading clears ``is_current`` on revoked links again, as the old code expects.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text(
        "UPDATE links SET is_current = true "
        "WHERE revoked_at IS NOT NULL AND is_current = false "
        "AND NOT EXISTS (SELECT 1 FROM links AS other WHERE other.survey_id = links.survey_id "
        "AND other.contact_id = links.contact_id AND (other.is_current = true OR other.id > links.id)) "
        "AND EXISTS (SELECT 1 FROM contacts WHERE contacts.id = links.contact_id AND contacts.deleted_at IS NULL) "
        "AND NOT EXISTS (SELECT 1 FROM audit_events WHERE audit_events.link_id = links.id "
        "AND audit_events.action = 'revoked' AND CAST(audit_events.detail AS TEXT) LIKE '%contact deleted%')"))


def downgrade():
    op.execute(sa.text("UPDATE links SET is_current = false WHERE revoked_at IS NOT NULL AND is_current = true"))
