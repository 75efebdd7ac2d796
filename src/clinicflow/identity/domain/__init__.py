"""Pure helpers shared by identity's aggregates: opaque bearer tokens, email messages."""
