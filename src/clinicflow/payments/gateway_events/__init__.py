"""Gateway events: the webhooks Stripe and PayPal send about payments and refunds."""
