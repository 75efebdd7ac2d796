"""Bookings made on a practitioner's Calendly page, imported as clinicflow visits (the
`invitee.created` / `invitee.canceled` webhooks), or flagged for the front desk when they
cannot be (`GET /v1/calendars/calendly/flags`)."""
