"""Pure parts of the waitlist-conversion model: features, labels, the baseline, the wave."""
