"""Outbound webhooks: admin-registered receivers get every event they asked for, signed,
retried with backoff, and every attempt logged (GET /v1/webhooks/deliveries). Other contexts
import nothing from here."""
