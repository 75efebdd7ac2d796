"""Waitlist conversion: the chance a launch invitation becomes a first visit within 30 days,
learnt from the lake; used beside the published priority score (which keeps the order) to
size a launch wave. docs/ml-planning.md "Waitlist conversion"."""
