"""Analytics: the metrics of patients over time (acquisition, waitlist, cross-service,
churn, retention)."""
