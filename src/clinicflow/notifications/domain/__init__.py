"""Pure rules for notifications: what an event sends, to whom, on which channel, and when."""
