"""The cached no-show risk of given bookings: for the staff's day calendar and for the
notifications' extra reminder (docs/ml.md "Where the risks are used")."""
