"""Orders: an order once placed, its visit lines, and what follows (another method, capture,
cancel, sync, billing codes)."""
