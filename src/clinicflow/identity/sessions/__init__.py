"""Server-side sessions for staff and patients, and patients' one-time sign-in links."""
