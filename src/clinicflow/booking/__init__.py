"""Booking: availability, holds, bookings and their life cycle."""
