"""Cached availability answered at the edge, before FastAPI routes anything.

`GET /v1/availability` is the booking page's hot read, and once cached its answer costs
one Redis lookup; yet through the full app most of the time goes into FastAPI's routing and
dependency solving (authenticate, rate_limit, query validation). `CachedReads` answers a
repeated *anonymous* question from the same cache without any of that:

* Only callers with no credentials at all (no Authorization, X-API-Key or Cookie header):
  a caller with a credential takes the full path, so a bad one still gets its 401.
* It only answers raw query strings it has seen the full route answer (200). The route
  reports which calendar generations its answer depends on (`ASKED_STATE`); the edge keeps
  raw query → calendars in a bounded LRU, and looks answers up under the raw query's digest,
  the minute and the current generations of those calendars: the same generations the full
  route's entries are keyed by, bumped by the same commit listener before a write returns.
  Read-your-writes holds as on the full path.
* The caller's rate limit is counted here (the same `RateLimiter.check`, per IP) and the
  verdict left in the scope's state: RateLimitHeaders writes its headers, and when the
  request goes on to the full app (refused, or not cached), the `rate_limit` dependency uses
  that verdict instead of counting the request again.
* A miss goes to the full app; when it answers 200 for the same calendars and minute, the
  body is stored for the edge's key. Non-200 answers are never stored.

Installed innermost of the user middleware, so metrics (the hit is labelled with the route's
template), security headers, the request id, log context, rate-limit headers and tracing
wrap it as they wrap the full app.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clinicflow.analytics.service import AvailabilityViews
from clinicflow.booking.availability.service import ASKED_STATE, CACHE_NAME
from clinicflow.bootstrap import Container
from clinicflow.gateway.ratelimit import RateLimiter
from clinicflow.infra.cache import Cache
from clinicflow.shared.actor import ANONYMOUS

log = structlog.get_logger(__name__)

PATH = "/v1/availability"
QUESTION = "availability:q"  # the edge's cache keys: availability:q:<sha256(query)>:<minute>
CREDENTIALS = frozenset({b"authorization", b"x-api-key", b"cookie"})
MAX_QUERY_BYTES = 1024  # longer query strings are not remembered (the LRU's memory bound)
JSON = (b"content-type", b"application/json")  # as the route's Response sends it


def anonymous_availability(scope: Scope) -> bool:
    """An anonymous GET of the availability route: what the cache answers, and the funnel
    counts (a request with credentials may see more, so it is neither)."""
    return (
        scope["type"] == "http"
        and scope["method"] == "GET"
        and scope["path"] == PATH
        and not any(name in CREDENTIALS for name, _ in scope["headers"])
    )


class CachedReads:
    """Pure ASGI; see the module's docstring. Installed only when availability is cached."""

    def __init__(self, app: ASGIApp, container: Container, max_queries: int = 4096) -> None:
        cache = container.availability.cache
        if cache is None:
            raise ValueError("CachedReads needs the availability cache; install it with one")
        self.app = app
        self._cache: Cache = cache
        self._ttl = container.availability.ttl
        self._clock = container.clock
        self._max = max_queries
        self._known: OrderedDict[bytes, tuple[str, ...]] = OrderedDict()  # query → calendars
        self._route: Any = None  # the availability route, as routing put it in the scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not anonymous_availability(scope):
            await self.app(scope, receive, send)
            return
        query: bytes = scope["query_string"]
        names = self._known.get(query)
        if names is None:
            status = await self._full(scope, receive, send)
            self._learn(query, scope, status)
            return
        self._known.move_to_end(query)
        state = scope.setdefault("state", {})
        limiter: RateLimiter | None = getattr(scope["app"].state, "rate_limiter", None)
        if limiter is not None and not await self._allowed(limiter, scope, state):
            await self.app(scope, receive, send)  # the `rate_limit` dependency answers 429
            return
        minute = int(self._clock.now().timestamp() // 60)
        question = f"{QUESTION}:{hashlib.sha256(query).hexdigest()}:{minute}"
        try:
            body, key = await self._cache.lookup(question, names)
        except Exception as exc:  # the full route meets the cache on its own terms
            log.warning("cached_read_failed", error=type(exc).__name__)
            await self.app(scope, receive, send)
            return
        if body is not None:
            self._cache.stats.count(CACHE_NAME, True)  # a miss is counted by the full route
            if self._route is not None:
                scope["route"] = self._route  # metrics label it with the route's template
            headers = [(b"content-length", str(len(body)).encode()), JSON]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        chunks: list[bytes] = []
        status = await self._full(scope, receive, send, chunks)
        if status == 200 and state.get(ASKED_STATE) == (names, minute):
            try:
                await self._cache.set(key, b"".join(chunks), self._ttl)
            except Exception as exc:  # the answer has gone out; the next miss stores it
                log.warning("cached_read_store_failed", error=type(exc).__name__)
        self._learn(query, scope, status)

    async def _allowed(self, limiter: RateLimiter, scope: Scope, state: dict[str, Any]) -> bool:
        client = scope.get("client")
        ip = client[0] if client else None
        actor = ANONYMOUS.at(ip, state.get("request_id"))
        try:
            verdict = await limiter.check(actor, ip, limiter.route_class("GET", PATH))
        except Exception as exc:  # storage down: serve, as the `rate_limit` dependency does
            log.warning("rate_limit_unavailable", error=type(exc).__name__)
            return True
        state["rate_limit"] = verdict
        return verdict.allowed

    async def _full(
        self, scope: Scope, receive: Receive, send: Send, chunks: list[bytes] | None = None
    ) -> int:
        """The full app's answer, passed on as it streams; its status, and its body into
        `chunks` when given."""
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and chunks is not None:
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        return status

    def _learn(self, query: bytes, scope: Scope, status: int) -> None:
        """Remember which calendars the route reported for a 200 answer to `query`."""
        asked = scope.get("state", {}).get(ASKED_STATE)
        if status != 200 or asked is None or len(query) > MAX_QUERY_BYTES:
            return
        self._route = scope.get("route", self._route)
        self._known[query] = asked[0]
        self._known.move_to_end(query)
        while len(self._known) > self._max:
            self._known.popitem(last=False)


def service_asked(query: bytes) -> str:
    """The `service` a raw query string names ("" when none). The booking page asks the same
    few questions again and again: their answers are remembered (parsing one cost a cached
    read ~3 us of its ~180), a query too long to be one of them is parsed each time."""
    if len(query) > MAX_QUERY_BYTES:
        return _parsed_service(query)
    return _remembered_service(query)


def _parsed_service(query: bytes) -> str:
    named = parse_qs(query.decode("latin-1")).get("service", [""])
    return named[-1]  # the last, as the route reads a repeated parameter


_remembered_service = lru_cache(maxsize=1024)(_parsed_service)


class ViewsCounted:
    """The analytics funnel's first step: each anonymous availability answer (200), cached
    or not, counted for its service and the clinic's day (`AvailabilityViews.seen`). Nothing
    about the caller is looked at beyond having no credentials: no IP, cookie or session."""

    def __init__(self, app: ASGIApp, views: AvailabilityViews) -> None:
        self.app = app
        self._views = views

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not anonymous_availability(scope):
            await self.app(scope, receive, send)
            return
        service = service_asked(scope["query_string"])

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                self._views.seen(service)
            await send(message)

        await self.app(scope, receive, counted)
