"""Waitlist rules as pure functions over plain data: states, scoring, positions, statistics."""
