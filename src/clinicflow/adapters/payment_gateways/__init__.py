"""Payment gateway adapters behind payments' `PaymentGateway` port: Stripe (official SDK),
PayPal (Orders v2 over httpx), and `ResilientGateway` for retries and circuit breaking."""
