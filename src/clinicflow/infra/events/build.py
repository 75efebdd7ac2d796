"""Building the event bus from Settings, and loading subscribers named in the settings."""

from __future__ import annotations

import importlib
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from clinicflow.infra.bus import Subscriber, Transport
from clinicflow.infra.db import Database
from clinicflow.infra.events.dispatch import Dispatcher
from clinicflow.infra.events.eventbus import EventBus
from clinicflow.infra.events.inprocess import InProcessTransport
from clinicflow.infra.events.ledger import Ledger, RetryPolicy
from clinicflow.infra.events.redis_streams import RedisStreamsTransport
from clinicflow.infra.inbox import Inbox
from clinicflow.settings import Settings
from clinicflow.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class SubscriberDeps:
    """What a subscriber factory named in CLINICFLOW_EXTRA_SUBSCRIBERS is given."""

    settings: Settings
    db: Database
    clock: Clock
    inbox: Inbox


SubscriberFactory = Callable[[SubscriberDeps], Subscriber]


def build_bus(
    settings: Settings, db: Database, clock: Clock, subscribers: Sequence[Subscriber]
) -> EventBus:
    """The bus for this process: `subscribers` plus those named in extra_subscribers."""
    deps = SubscriberDeps(settings, db, clock, Inbox(db, clock))
    every = [*subscribers, *load_subscribers(settings.extra_subscribers, deps)]
    names = [sub.name for sub in every]
    if len(set(names)) != len(names):
        raise ValueError(f"subscriber names must be unique (they key the inbox): {names}")
    policy = RetryPolicy(
        max_attempts=settings.event_max_attempts,
        base_seconds=settings.event_retry_base_seconds,
        cap_seconds=settings.event_retry_cap_seconds,
    )
    ledger = Ledger(db, clock, policy)
    dispatcher = Dispatcher(ledger)
    transport: Transport
    if settings.event_transport == "redis":
        transport = RedisStreamsTransport(
            Redis.from_url(settings.redis_url, decode_responses=True),  # connects on first use
            dispatcher,
            every,
            stream=settings.event_stream,
            consumer=consumer_name(),
            maxlen=settings.event_stream_maxlen,
            batch_size=settings.event_batch_size,
            claim_idle_ms=int(settings.event_claim_idle_seconds * 1000),
            block_ms=max(1, int(settings.event_poll_seconds * 1000)),
        )
    else:
        transport = InProcessTransport(
            dispatcher,
            every,
            batch_size=settings.event_batch_size,
            poll_seconds=settings.event_poll_seconds,
        )
    return EventBus(
        db,
        clock,
        transport,
        ledger,
        in_process=settings.event_transport == "inprocess",
        batch_size=settings.event_batch_size,
        poll_seconds=settings.event_poll_seconds,
    )


def load_subscribers(spec: str, deps: SubscriberDeps) -> list[Subscriber]:
    """Call each "module:factory" of a comma-separated list with `deps`."""
    loaded: list[Subscriber] = []
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        module_name, _, attribute = entry.partition(":")
        if not module_name or not attribute:
            raise ValueError(f"extra subscriber {entry!r}: write it as module:factory")
        factory: SubscriberFactory = getattr(importlib.import_module(module_name), attribute)
        loaded.append(factory(deps))
    return loaded


def consumer_name() -> str:
    """Unique per process: a restarted worker is a new consumer; the old one's entries are
    claimed from it once idle."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
