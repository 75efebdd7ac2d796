"""Per-client rate limits at the edge (the `limits` library, moving window).

A client is who the request authenticated as (API key, OAuth client, staff user, patient),
or its network when anonymous (IPv4 address, IPv6 /64); limits are per client and per route
class, from the client's tier (`Settings.rate_limits`). Storage is in memory by default and
Redis when configured, so the limits hold across replicas.

Runs as a dependency after `authenticate` (the caller must be known first, or anyone could
spend another client's budget by naming its key); the verdict goes to `request.state`, and
`RateLimitHeaders` writes it on the response, whatever the route returned.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import structlog
from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import Message, Receive, Scope, Send

from clinicflow.gateway.asgi import HttpMiddleware
from clinicflow.settings import Settings
from clinicflow.shared.actor import Actor
from clinicflow.shared.client_network import client_network
from clinicflow.shared.errors import DomainError

log = structlog.get_logger(__name__)

ROUTE_CLASSES = ("read", "write", "auth", "webhook")
# Probes and scrapes come from the platform, many times a minute, and must never be refused.
EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window has room again
    window: int  # seconds

    def headers(self) -> list[tuple[bytes, bytes]]:
        found = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_after).encode()),
            (b"ratelimit-policy", f"{self.limit};w={self.window}".encode()),
        ]
        if not self.allowed:
            found.append((b"retry-after", str(max(self.reset_after, 1)).encode()))
        return found


class RateLimiter:
    @classmethod
    def from_settings(cls, settings: Settings, classify: Mapping[str, str]) -> RateLimiter | None:
        if not settings.rate_limits_enabled:
            return None
        uri = "async+memory://"
        if settings.rate_limit_storage == "redis":
            uri = "async+" + settings.redis_url
        return cls(settings.rate_limits, uri, classify=classify)

    def __init__(
        self,
        tiers: Mapping[str, Mapping[str, str]],
        storage_uri: str = "async+memory://",
        *,
        classify: Mapping[str, str] | None = None,
        key_prefix: str = "clinicflow:ratelimit",
    ) -> None:
        """`tiers`: tier → route class → "120/minute". A tier leaves a class out to take the
        anonymous tier's limit; an unknown tier is treated as "standard"."""
        self._items = {
            tier: {name: parse(value) for name, value in classes.items()}
            for tier, classes in tiers.items()
        }
        self._classify = dict(classify or {})
        self._storage = storage_from_string(storage_uri, key_prefix=key_prefix)
        self._limiter = MovingWindowRateLimiter(self._storage)

    def route_class(self, method: str, path: str) -> str:
        if path in self._classify:
            return self._classify[path]
        return "read" if method in ("GET", "HEAD", "OPTIONS") else "write"

    def item_for(self, tier: str, route_class: str) -> RateLimitItem:
        classes = self._items.get(tier) or self._items.get("standard", {})
        found = classes.get(route_class) or self._items.get("anonymous", {}).get(route_class)
        if found is None:
            raise KeyError(f"no rate limit for tier {tier!r}, class {route_class!r}")
        return found

    async def check(self, actor: Actor, client_ip: str | None, route_class: str) -> Verdict:
        item = self.item_for(actor.tier, route_class)
        # Anonymous callers all share one id ("anonymous"): they are told apart by network
        # (the IPv4 address, or the IPv6 /64, which one host may roam at will).
        anonymous = actor.kind == "anonymous" or not actor.id
        who = f"ip:{client_network(client_ip)}" if anonymous else f"{actor.kind}:{actor.id}"
        allowed = await self._limiter.hit(item, route_class, who)
        stats = await self._limiter.get_window_stats(item, route_class, who)
        reset_after = max(0, int(stats.reset_time - time.time() + 0.999))
        window = item.get_expiry()
        return Verdict(allowed, item.amount, max(stats.remaining, 0), reset_after, window)


async def rate_limit(request: Request) -> None:
    """The app-wide dependency, after `authenticate`. A request the gateway's fast path
    (cached_reads.py) already counted carries its verdict: it is used, not counted again."""
    limiter = cast(RateLimiter | None, request.app.state.rate_limiter)
    path = request.url.path
    if limiter is None or path in EXEMPT:
        return
    route_class = limiter.route_class(request.method, path)
    verdict = cast(Verdict | None, getattr(request.state, "rate_limit", None))
    if verdict is None:
        try:
            verdict = await limiter.check(
                request.state.actor, request.client.host if request.client else None, route_class
            )
        except Exception as exc:  # storage down: serve rather than refuse everyone
            log.warning("rate_limit_unavailable", error=type(exc).__name__)
            return
        request.state.rate_limit = verdict
    if not verdict.allowed:
        raise RateLimited(
            f"this client may make {verdict.limit} {route_class} requests per "
            f"{verdict.window} seconds; try again in {max(verdict.reset_after, 1)} seconds"
        )


class RateLimitHeaders(HttpMiddleware):
    """Writes the verdict's RateLimit-* (and, when refused, Retry-After) headers."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            verdict = state.get("rate_limit")
            if message["type"] == "http.response.start" and verdict is not None:
                message["headers"] = [*message.get("headers", []), *verdict.headers()]
            await send(message)

        await self.app(scope, receive, send_with_headers)
