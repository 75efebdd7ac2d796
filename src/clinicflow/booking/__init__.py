"""Booking: availability, holds, bookings and their life cycle.

What other contexts may use: a booking as it stands now, read in their own transaction
(`booking_now`; `bookings_now` for many at once), and booking's rows in their own write
transaction (`SqlBookingDesk`: a hold kept or let go, a patient merge)."""

from clinicflow.booking.queries import BookingNow, booking_now, bookings_now
from clinicflow.booking.repository import SqlBookingDesk

__all__ = [
    "BookingNow",
    "SqlBookingDesk",
    "booking_now",
    "bookings_now",
]
