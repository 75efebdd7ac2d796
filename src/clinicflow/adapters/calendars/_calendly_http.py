"""Calendly API v2 on the injected httpx.AsyncClient: the bearer token, the rate limit, and
the answers read as the calendars port's errors.

Calendly counts requests per user, 500 a minute on paid plans (50 on free ones); all of a
personal access token's requests count for the token's own user, however many practitioners
they ask about (reference/integrations.md §1.6). So one `RateGate` per token: a token bucket
refilled at the plan's rate, a cap on requests in flight, and a shared pause when Calendly
answers 429 (`X-RateLimit-Reset`: seconds until its window reopens; `Retry-After` if sent),
so the calls running beside the refused one wait too instead of being refused in turn.

Each attempt goes through the source's circuit breaker: a 5xx, a 424 (Calendly could not
read a connected calendar), a time-out or a dropped connection is an outage (counted, retried
a little); a 429 is not (Calendly is up and pacing us). An open circuit fails at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from clinicflow.adapters._resilience import CircuitBreaker, Outages
from clinicflow.calendars.ports import SourceUnavailable

BASE_URL = "https://api.calendly.com"
PER_MINUTE = 500  # paid plans; free plans allow 50


class CalendlyCircuitOpen(SourceUnavailable):
    """Recent calls failed: Calendly is not called until the circuit half-opens."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")


class CalendlyRefused(SourceUnavailable):
    """Calendly refused the request itself (400, 401, 403, 404): a token or a mapping in
    config/clinic.yaml to fix; retrying changes nothing."""


CALENDLY_OUTAGES = Outages(transient=SourceUnavailable, opened=CalendlyCircuitOpen)


def calendly_breaker(*, threshold: int = 5, reset_after: float = 30.0) -> CircuitBreaker:
    return CircuitBreaker(
        "calendly", outages=CALENDLY_OUTAGES, threshold=threshold, reset_after=reset_after
    )


class _RateLimited(Exception):
    """A 429: not an outage (the breaker ignores it); the gate pauses for `wait` seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limited for {wait:g} s")
        self.wait = wait


Sleep = Callable[[float], Awaitable[None]]


@dataclass
class RateGate:
    """The token's budget: `per_minute` requests a minute with bursts of `burst`, at most
    `in_flight` at once. `monotonic` and `sleep` are injected so tests move time themselves."""

    per_minute: int = PER_MINUTE
    burst: int = 50
    in_flight: int = 10
    monotonic: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)
        self._stamp = self.monotonic()
        self._paused_until = 0.0
        self._slots = asyncio.Semaphore(self.in_flight)
        self._lock = asyncio.Lock()

    @property
    def slots(self) -> asyncio.Semaphore:
        return self._slots

    async def take(self) -> None:
        """Waits for the pause to pass and for a token, then spends it."""
        async with self._lock:  # one waiter at a time: tokens go out in arrival order
            while True:
                now = self.monotonic()
                if now < self._paused_until:
                    await self.sleep(self._paused_until - now)
                    continue
                rate = self.per_minute / 60.0
                self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * rate)
                self._stamp = now
                if self._tokens >= 1 - 1e-9:  # a float refill may land a hair short of 1
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                await self.sleep(max((1 - self._tokens) / rate, 0.001))

    def pause(self, seconds: float) -> None:
        """Calendly said to wait: nobody sends before then, and the bucket starts empty."""
        until = self.monotonic() + seconds
        if until > self._paused_until:
            self._paused_until = until
            self._tokens = 0.0


@dataclass(frozen=True)
class Pacing:
    """How long to keep trying. 429s are waited out up to `rate_limited` times, never longer
    than `longest_wait` each; outages are retried `outage_retries` times, `outage_wait` apart."""

    rate_limited: int = 3
    longest_wait: float = 65.0
    outage_retries: int = 1
    outage_wait: float = 0.5


class CalendlyClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        *,
        breaker: CircuitBreaker,
        gate: RateGate | None = None,
        pacing: Pacing | None = None,
        base_url: str = BASE_URL,
    ) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.breaker = breaker
        self._gate = gate or RateGate()
        self._pacing = pacing or Pacing()
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"CalendlyClient(base_url={self.base_url!r})"  # never the token

    async def get(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        time_limit: float | None = None,
        retry: bool = True,
    ) -> dict[str, object]:
        return await self.request("GET", path, params=params, time_limit=time_limit, retry=retry)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
        time_limit: float | None = None,
        retry: bool = True,
    ) -> dict[str, object]:
        """The JSON object Calendly answered. `retry=False` (the live check): one attempt,
        and a 429 is an answer of "unavailable", not a wait."""
        limited = 0
        outages = 0
        while True:
            await self._gate.take()
            try:
                async with self._gate.slots:
                    return await self.breaker.call(
                        lambda: self._once(method, path, params, body, time_limit)
                    )
            except _RateLimited as exc:
                limited += 1
                if not retry or limited > self._pacing.rate_limited:
                    raise SourceUnavailable(
                        f"calendly: still rate limited after {limited} tries"
                    ) from None
                self._gate.pause(min(exc.wait, self._pacing.longest_wait))
            except (CalendlyCircuitOpen, CalendlyRefused):
                raise
            except SourceUnavailable:
                outages += 1
                if not retry or outages > self._pacing.outage_retries:
                    raise
                await self._gate.sleep(self._pacing.outage_wait * outages)

    async def _once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, object] | None,
        time_limit: float | None,
    ) -> dict[str, object]:
        url = path if path.startswith("http") else self.base_url + path
        extra: dict[str, object] = {} if time_limit is None else {"timeout": time_limit}
        try:
            response = await self._http.request(
                method,
                url,
                params=dict(params or {}),
                json=body,
                headers=self._headers,
                **extra,  # type: ignore[arg-type]
            )
        except httpx.TimeoutException as exc:
            raise SourceUnavailable("calendly: timed out") from exc
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"calendly: unreachable ({type(exc).__name__})") from exc
        return _answer(response)


def _answer(response: httpx.Response) -> dict[str, object]:
    status = response.status_code
    if status == 429:
        raise _RateLimited(_wait_of(response.headers))
    if status >= 500 or status == 424:
        raise SourceUnavailable(f"calendly: answered {status} ({_title(response)})")
    if status >= 400:
        raise CalendlyRefused(f"calendly: refused with {status} ({_title(response)})")
    try:
        payload = response.json() if response.content else {}
    except ValueError as exc:
        raise SourceUnavailable("calendly: the answer is not JSON") from exc
    if not isinstance(payload, dict):
        raise SourceUnavailable("calendly: the answer is not a JSON object")
    return payload


def _wait_of(headers: httpx.Headers) -> float:
    for name in ("retry-after", "x-ratelimit-reset"):
        value = headers.get(name, "").strip()
        if value.replace(".", "", 1).isdigit():
            return max(float(value), 0.0)
    return 60.0  # Calendly's window is a minute


def _title(response: httpx.Response) -> str:
    """Calendly's error title and message, never the request (it may name a user)."""
    try:
        error = response.json()
    except ValueError:
        return "no JSON body"
    if isinstance(error, dict):
        return f"{error.get('title', '')}: {error.get('message', '')}".strip(": ")
    return "unexpected body"
