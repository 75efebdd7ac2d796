"""Every context's tables on one MetaData, for migrations and tests."""

from __future__ import annotations

import clinicflow.analytics.tables
import clinicflow.booking.tables
import clinicflow.calendars.feeds.tables
import clinicflow.calendars.page_bookings.tables
import clinicflow.calendars.tables
import clinicflow.catalog.tables
import clinicflow.fhir.smart.tables
import clinicflow.flags.tables
import clinicflow.identity.tables
import clinicflow.infra.audit
import clinicflow.infra.events.ledger
import clinicflow.infra.inbox
import clinicflow.infra.outbox
import clinicflow.integrations.tables
import clinicflow.notifications.tables
import clinicflow.patients.tables
import clinicflow.payments.tables
import clinicflow.waitlist.tables
import clinicflow.webhooks.tables  # noqa: F401  (registers the tables)
from clinicflow.infra.db import metadata

__all__ = ["metadata"]
