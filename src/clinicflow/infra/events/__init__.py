"""Event delivery: the bus a process runs, its transports, and the delivery ledger.

Public surface: `build_bus`, `EventBus`, `SubscriberDeps`, `DeadLetter`. The envelope and the
subscriber protocol live in `clinicflow.infra.bus`; the inbox helper in
`clinicflow.infra.inbox`; the relay in `clinicflow.infra.relay`.
"""

from __future__ import annotations

from clinicflow.infra.events.build import SubscriberDeps, build_bus, load_subscribers
from clinicflow.infra.events.eventbus import EventBus, Pass
from clinicflow.infra.events.ledger import DeadLetter, RetryPolicy

__all__ = [
    "DeadLetter",
    "EventBus",
    "Pass",
    "RetryPolicy",
    "SubscriberDeps",
    "build_bus",
    "load_subscribers",
]
