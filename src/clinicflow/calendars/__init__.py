"""External calendars as sources of busy time (Calendly, Microsoft 365, CalDAV, ICS) and the
store that keeps what they said, per practitioner and source. clinicflow's own bookings stay
the truth (the exclusion constraint has the last word); these calendars only say when a
practitioner is busy elsewhere, and receive the clinic's bookings back (write-back).
"""
