"""Analytics: the metrics of money (revenue, geography)."""
