"""Checkout: an order placed for visits and/or a package, and its payment started."""
