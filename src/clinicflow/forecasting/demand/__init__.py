"""Demand: visits a day and a week per service (and per practitioner) for the next 8
weeks, with 80% intervals, beside the catalog's capacity; backtested against seasonal-naive.
docs/ml-planning.md "Demand forecast"."""
