"""What every page behind a waitlist link shares: the token checked, the opening counted
as a click, and where the entry stands."""
