"""Conversions: an entry booked by a claim or by staff, and marked paid."""
