"""Change notifications from the calendars clinicflow reads (Microsoft Graph subscriptions):
the route Graph posts to, the check that a notification comes from a subscription clinicflow
made, and the nudge to sync that practitioner's calendar."""
