"""Booking: availability, holds, bookings and their life cycle."""

from clinicflow.booking.lookup import BookingNow, booking_now
from clinicflow.booking.system import SystemBooking

__all__ = [
    "BookingNow",
    "SystemBooking",
    "booking_now",
]
