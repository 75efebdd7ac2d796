"""Nurture messages to waiting entries, and the clicks on their tracking links."""
