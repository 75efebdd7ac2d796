"""Booking rules as pure functions over plain data."""
