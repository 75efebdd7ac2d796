"""Booking: availability, holds, bookings and their life cycle."""

from clinicflow.booking.launches import LaunchState, launched_services, record_launch
from clinicflow.booking.lookup import BookingNow, booking_now
from clinicflow.booking.system import SystemBooking

__all__ = [
    "BookingNow",
    "LaunchState",
    "SystemBooking",
    "booking_now",
    "launched_services",
    "record_launch",
]
