"""The event transport's settings (infra/relay.py, infra/events/): in process or over Redis
Streams, batches, retries, and the subscribers loaded beside the contexts' own."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings


class EventSettings(BaseSettings):
    """CLINICFLOW_EVENT_*, CLINICFLOW_REDIS_URL, CLINICFLOW_EXTRA_SUBSCRIBERS."""

    # Events (infra/relay.py, infra/events/): in-process dispatch after commit (the embedded
    # default), or Redis Streams with one consumer group per subscriber (scale-out).
    event_transport: Literal["inprocess", "redis"] = "inprocess"
    redis_url: str = "redis://127.0.0.1:6379/0"
    event_stream: str = "clinicflow:events"
    event_stream_maxlen: int = Field(default=100_000, gt=0)  # approximate (MAXLEN ~)
    event_batch_size: int = Field(default=100, gt=0)
    # Failed deliveries: exponential backoff with full jitter, then dead-lettered.
    event_max_attempts: int = Field(default=5, gt=0)
    event_retry_base_seconds: float = Field(default=2.0, gt=0)
    event_retry_cap_seconds: float = Field(default=600.0, gt=0)
    # How long a Redis entry stays with a silent consumer before another worker claims it.
    event_claim_idle_seconds: float = Field(default=60.0, ge=0)
    # How often the relay and the consumers look again when there was nothing to do.
    event_poll_seconds: float = Field(default=1.0, gt=0)

    # More subscribers to load, "module:factory" comma separated; factory(SubscriberDeps).
    extra_subscribers: str = ""
