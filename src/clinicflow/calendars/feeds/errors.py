"""The feed's refusals, answered as problem+json by the gateway."""

from __future__ import annotations

from clinicflow.shared.errors import NotFound


class FeedNotFound(NotFound, code="calendar_feed_not_found", title="No calendar feed here"):
    """An unknown practitioner, or a missing, wrong, rotated or revoked token: one answer for
    all of them, so the address reveals nothing."""


class UnknownPractitioner(NotFound, code="practitioner_not_found", title="No such practitioner"):
    """Issuing or revoking a feed token for a key config/clinic.yaml does not name."""
