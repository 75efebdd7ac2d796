"""The integrations context's errors, answered as problem+json by the gateway."""

from __future__ import annotations

from clinicflow.shared.errors import Forbidden, NotFound


class EhrNoticeRefused(Forbidden, code="ehr_webhook_not_authenticated", title="Webhook refused"):
    """The webhook did not carry the EHR's API key."""


class EhrWebhooksOff(NotFound, code="ehr_webhooks_off", title="EHR webhooks not configured"):
    """MediRecords (with a webhook key) is not configured here."""


class ConflictNotFound(NotFound, code="ehr_conflict_not_found", title="No such open conflict"):
    """No open EHR conflict has this id."""
