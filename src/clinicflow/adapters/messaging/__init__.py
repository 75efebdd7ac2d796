"""Messaging providers behind the notifications ports (SendGrid, SMTP, the local .eml mailbox,
Twilio, Web Push), and the plain `Mailer` identity and the waitlist send through."""
