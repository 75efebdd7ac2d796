"""Pure webhook rules: signing, the retry schedule, subscription checks, which addresses a
receiver may have, and what an attempt leaves."""
