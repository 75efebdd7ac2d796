"""A person's waitlist entry: joining (once per service and person), where it stands,
preferences, withdrawal, the staff list, and the engagement and stages it records."""
