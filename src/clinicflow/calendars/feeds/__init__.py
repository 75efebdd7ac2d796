"""clinicflow's own ICS feed of each practitioner's bookings
(`GET /v1/practitioners/{key}/calendar.ics?token=…`), for any calendar app to subscribe to:
the secret token behind it (shown once, stored as its SHA-256, rotated or revoked by
`clinicflow calendars feed-token`) and the feed itself, with no patient data in it."""
