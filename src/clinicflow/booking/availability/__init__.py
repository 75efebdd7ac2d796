"""Availability: the open slots of a visit, from the practitioners' hours and busy time."""
