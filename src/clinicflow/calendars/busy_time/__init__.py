"""Busy time as booking reads it: the store's answer per practitioner, and the live check
of the chosen practitioner's calendars at booking time."""
