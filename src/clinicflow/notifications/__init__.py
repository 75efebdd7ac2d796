"""Notifications: booking confirmations, changes, cancellations and reminders to patients."""
