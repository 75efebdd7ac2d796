"""The ledger: settling what gateways report into append-only entries and package credits,
revenue, and reconciliation with the gateways."""
