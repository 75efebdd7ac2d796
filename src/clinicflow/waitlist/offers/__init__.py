"""Freed-slot offers: a cancelled visit's slot held and offered down the list."""
