"""Forecasting: models over the analytics lake (never the live tables) that help the clinic
plan: demand per service and practitioner (`demand/`), waitlist conversion for launch waves
(`waitlist/`) and proposed weekly schedules (`scheduling/`). docs/ml-planning.md."""
