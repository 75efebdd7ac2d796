"""Forecasting: models over the analytics lake (never the live tables). No-show risk per
upcoming booking and churn risk per patient in care, each evaluated on a later period
against a simple baseline, kept in a registry, and served from cached predictions
(docs/ml.md); and the planning models: demand per service and practitioner (`demand/`),
waitlist conversion for launch waves (`waitlist/`) and proposed weekly schedules
(`scheduling/`) (docs/ml-planning.md). Models read keyed hashes only; names are looked up for
staff afterwards."""
