"""The sidecar's tables, one module per domain (as ``plugin/services/<domain>``); ``from plugin.models import Link``
gives any of them, and importing this package puts every one of them in the app's metadata (Alembic sees them all).

The inbox's tables are in ``webhooks/models.py``.
"""

from plugin.models.admin import ApiKey, AuditEvent, AuthFailure, IdempotencyKey
from plugin.models.anonymity import AnonymousTally, AnonymousTicket, HostErasure
from plugin.models.contacts import Contact, Segment, SegmentMember
from plugin.models.events import DELIVERY_STATUSES, EventBacklog, EventDelivery, EventSubscription, OutboxEvent
from plugin.models.followup import ContactMade, ReminderBatch, Suppression
from plugin.models.host import SyncRun
from plugin.models.jobs import JobLease, JobRun, ReconcilePoint
from plugin.models.links import Link, ResponseAttribution, Survey

__all__ = [
    "DELIVERY_STATUSES",
    "AnonymousTally",
    "AnonymousTicket",
    "ApiKey",
    "AuditEvent",
    "AuthFailure",
    "Contact",
    "ContactMade",
    "EventBacklog",
    "EventDelivery",
    "EventSubscription",
    "HostErasure",
    "IdempotencyKey",
    "JobLease",
    "JobRun",
    "Link",
    "OutboxEvent",
    "ReconcilePoint",
    "ReminderBatch",
    "ResponseAttribution",
    "Segment",
    "SegmentMember",
    "Suppression",
    "Survey",
    "SyncRun",
]
