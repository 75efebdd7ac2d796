"""Pure webhook rules: signing, the retry schedule, subscription checks."""
