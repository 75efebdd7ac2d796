"""Refunds: through the gateway that took the payment, by the policy or a staff override."""
