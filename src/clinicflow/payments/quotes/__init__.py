"""Quotes: what an order of visits and packages costs, with promotions and credits."""
