"""API keys for integrations: created, rotated and revoked by staff, checked per request."""
