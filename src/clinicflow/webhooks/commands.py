"""Typed inputs of the webhooks' use cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Which deliveries to list (newest first)."""

    subscription_id: str | None = None
    status: str | None = None
    event_id: str | None = None
    limit: int = 100
    delivery_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """A subscription to store, active from its creation."""

    id: str
    values: Mapping[str, object]  # the checked url, event_types and description
    secret_enc: str
    created_by: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event as every delivery of it carries it."""

    event_id: str
    event_type: str
    body: str  # the signed JSON document
