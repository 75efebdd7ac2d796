"""The waitlist's statistics: sizes, growth, ZIP3 areas, distance bands, the funnel."""
