"""Email delivery adapters behind identity's `Mailer` port: SMTP, and a local mailbox."""
