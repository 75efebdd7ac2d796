"""Typed inputs of the webhooks' use cases."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Which deliveries to list (newest first)."""

    subscription_id: str | None = None
    status: str | None = None
    event_id: str | None = None
    limit: int = 100
    delivery_id: str | None = None
