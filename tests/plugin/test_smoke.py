from plugin.db import db
from plugin.models import Contact


def test_seeded(seeded, app):
    assert db.session.query(Contact).count() == 4
