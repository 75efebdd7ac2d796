"""Analytics: the metrics of visits (utilization, no-shows, the funnel)."""
