"""End to end against the fake Formbricks in 4.x and in 5.x shapes (and on SQLite and PostgreSQL):
install, sync, a personal link opened and answered through the signed webhook, a missed webhook found by
reconciliation, and uninstall removing exactly what install made."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from plugin.db import db
from plugin.manifest import manifest
from plugin.models import Link, ResponseAttribution
from plugin.services.host import install, sync
from plugin.services.host.adapters import OVERRIDE_KEY, Adapters
from plugin.services.host.reconcile import reconcile
from plugin.services.responses.attribution import Intake
from plugin.state import state
from tests.helpers import NOW, PUBLIC_URL
from tests.plugin.formbricks_host import FakeHost
from tests.webhooks.support import response_body, signed
from webhooks.models import WebhookRegistration


def personal_link(client, api_headers, contact_id: str) -> tuple[str, dict[str, list[str]]]:
    """Issue the contact's link over the host-compatible API, open it, and return its token and the redirect's
    query (the hidden field and, on this single-use survey, the host's suId)."""
    answer = client.get(f"/api/v2/management/surveys/sv_1/contact-links/contacts/{contact_id}", headers=api_headers)
    assert answer.status_code == 200, answer.get_json()
    opened = client.get(urlsplit(answer.get_json()["data"]["surveyUrl"]).path)
    assert opened.status_code == 302
    query = parse_qs(urlsplit(opened.headers["location"]).query)
    return query["plink"][0], query


def test_install_sync_answer_reconcile_uninstall(app, client, api_headers, fake_host: FakeHost) -> None:
    adapter = fake_host.adapter()
    app.extensions[OVERRIDE_KEY] = Adapters(adapter, adapter)

    done = install.install(db.session, adapter, manifest(), PUBLIC_URL, ["sv_1"], "plink", NOW)
    db.session.commit()
    assert done.created and list(fake_host.state.webhooks) == [done.webhook_id]
    secret = db.session.scalar(select(WebhookRegistration.secret))
    assert secret == fake_host.state.webhooks[done.webhook_id]["secret"]

    result = sync.sync(db.session, adapter, adapter, NOW, "test")
    assert (result.added, result.surveys) == (3, 2)

    token, query = personal_link(client, api_headers, "c_ada")
    assert query["suId"]  # the host's single-use id, asked in the version's permission
    body = response_body("responseFinished", "rs_hook", token, finished=True, survey_id="sv_1")
    delivered = client.post("/webhooks/formbricks", data=body, headers=signed(body, secret=secret))
    assert delivered.status_code == 200, delivered.get_json()

    missed, _ = personal_link(client, api_headers, "c_cy")  # answered while the sidecar was down
    fake_host.state.add_response("sv_1", contact_id="c_cy", data={"plink": missed},
                                 updated_at=NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    counts = reconcile(db.session, adapter, NOW, Intake(state().tokens, "plink"))
    db.session.commit()
    assert counts["applied"] == 1
    statuses = dict(db.session.execute(select(ResponseAttribution.response_id, ResponseAttribution.status)).all())
    assert statuses["rs_hook"] == "attributed" and len([s for s in statuses.values() if s == "attributed"]) == 2
    assert sorted(db.session.scalars(select(Link.use_count))) == [1, 1]

    removed = install.uninstall(db.session, adapter, manifest(), PUBLIC_URL, NOW)
    db.session.commit()
    assert removed == [done.webhook_id] and fake_host.state.webhooks == {}
    deletes = [seen for seen in fake_host.state.requests_seen if seen.startswith("DELETE")]
    assert deletes == [f"DELETE /api/v2/management/webhooks/{done.webhook_id}"]
