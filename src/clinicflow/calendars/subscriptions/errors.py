"""Change notifications' errors, answered as problem+json by the gateway."""

from __future__ import annotations

from clinicflow.shared.errors import Forbidden, NotFound


class NotificationRefused(
    Forbidden, code="notification_not_authenticated", title="Notification not authenticated"
):
    """No notification in the post carries a clientState of a subscription clinicflow made."""


class NotificationsOff(
    NotFound, code="calendar_notifications_off", title="Calendar notifications not configured"
):
    """Microsoft 365 (with a notification secret) is not configured here."""
