"""Idempotency keys: a client's `Idempotency-Key` on checkout and refunds."""
