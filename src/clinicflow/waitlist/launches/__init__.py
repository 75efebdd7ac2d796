"""Launching a waitlisted service, the waves of invitations sized to capacity, and an
invitation's view and claim."""
