"""Pure identity rules."""
