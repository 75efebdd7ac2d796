"""Analytics: every event kept as it was published, for projections built later (utilization,
revenue, funnels, the data lake). Rows carry ids and facts only, never PHI."""
