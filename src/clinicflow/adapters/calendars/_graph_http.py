"""Microsoft Graph over the injected httpx client, app-only: the client-credentials token
(cached until shortly before it expires, fetched again once when Graph answers 401
`InvalidAuthenticationToken`), at most `max_in_flight` requests per mailbox (Outlook's
MailboxConcurrency limit is 4 per app and mailbox), and `Retry-After` honoured on 429/503
up to a budget; past it, or on any other failure, the call raises so its caller (the
outbox, the sync job) tries again later.

Secrets and tokens are never logged or put in an error's text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from clinicflow.adapters._retry_after import RetryAfterBudget, Sleep
from clinicflow.calendars.ports import SourceUnavailable
from clinicflow.infra.logging import get_logger
from clinicflow.shared.clock import Clock

log = get_logger(__name__)

SCOPE = "https://graph.microsoft.com/.default"
# Refresh this long before the token's expiry, so it never lapses between check and use.
_EARLY = timedelta(minutes=5)
Json = dict[str, Any]


class GraphError(SourceUnavailable):
    """Graph answered with an error (or not at all). `code` is Graph's error code."""

    def __init__(self, status: int | None, code: str, message: str) -> None:
        super().__init__(f"Microsoft Graph {status or 'unreachable'}: {code}: {message}")
        self.status = status
        self.code = code


class GraphThrottled(GraphError):
    """Still throttled after waiting as long as the budget allows; try again after
    `retry_after` seconds."""

    def __init__(self, status: int, code: str, retry_after: float) -> None:
        super().__init__(status, code, f"throttled; retry after {retry_after:g} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class GraphApp:
    """The app registration: which tenant, which app, and where Graph and the login are."""

    tenant: str
    client_id: str
    client_secret: str
    login_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"GraphApp(tenant={self.tenant!r}, client_id={self.client_id!r})"


class GraphClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        app: GraphApp,
        clock: Clock,
        *,
        max_in_flight: int = 4,
        max_retry_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._app = app
        self._clock = clock
        self.base = app.graph_url.rstrip("/")
        self._origin = _origin(self.base)
        self._max_in_flight = max_in_flight
        self._max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._token: str | None = None
        self._expires_at = datetime.min.replace(tzinfo=UTC)
        self._lock = asyncio.Lock()

    def url(self, path: str) -> str:
        return self.base + path

    def user(self, mailbox: str) -> str:
        return f"{self.base}/users/{quote(mailbox, safe='@')}"

    def owns(self, url: str) -> bool:
        """Whether `url` is Graph's (links Graph gave are followed, but only to Graph: the
        request carries the app's token)."""
        return _origin(url) == self._origin

    async def call(
        self,
        method: str,
        url: str,
        *,
        mailbox: str,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
        max_retry_wait: float | None = None,
    ) -> httpx.Response:
        """The 2xx answer, or one whose status is in `accept`; otherwise raises `GraphError`.
        `mailbox` is the one the request touches (its concurrency gate)."""
        if not self.owns(url):
            raise GraphError(None, "foreign_url", "refusing to send the app's token off Graph")
        limit = self._max_retry_wait if max_retry_wait is None else max_retry_wait
        budget = RetryAfterBudget("graph", limit, self._sleep)
        refreshed = False
        while True:
            answer = await self._send(method, url, mailbox, json, headers)
            status = answer.status_code
            if status < 300 or status in accept:
                return answer
            code, message = _error_of(answer)
            if status == 401 and not refreshed:
                refreshed = True
                await self._forget(code)
                continue
            if await budget.wait_out(answer, code=code, mailbox=mailbox):
                continue
            if budget.refused is not None:
                raise GraphThrottled(status, code, budget.refused)
            raise GraphError(status, code, message)

    async def _send(
        self,
        method: str,
        url: str,
        mailbox: str,
        json: object,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        token = await self._valid_token()
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        async with self._gate(mailbox):
            try:
                return await self._http.request(method, url, json=json, headers=sent)
            except httpx.TimeoutException as exc:
                raise GraphError(None, "timeout", "Graph did not answer in time") from exc
            except httpx.TransportError as exc:
                raise GraphError(None, "unreachable", type(exc).__name__) from exc

    def _gate(self, mailbox: str) -> asyncio.Semaphore:
        key = mailbox.lower()
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = asyncio.Semaphore(self._max_in_flight)
        return gate

    async def _valid_token(self) -> str:
        async with self._lock:
            if self._token is None or self._clock.now() >= self._expires_at:
                self._token, lifetime = await self._fetch_token()
                self._expires_at = self._clock.now() + max(lifetime - _EARLY, lifetime / 2)
            return self._token

    async def _forget(self, code: str) -> None:
        log.info("graph_token_refused", code=code)
        async with self._lock:
            self._token = None

    async def _fetch_token(self) -> tuple[str, timedelta]:
        app = self._app
        url = f"{app.login_url.rstrip('/')}/{quote(app.tenant, safe='')}/oauth2/v2.0/token"
        form = {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scope": SCOPE,
            "grant_type": "client_credentials",
        }
        try:
            answer = await self._http.post(url, data=form)
        except httpx.TransportError as exc:
            raise GraphError(None, "login_unreachable", type(exc).__name__) from exc
        if answer.status_code != 200:
            # {"error": "invalid_client", "error_description": …}: the description may quote
            # the request, so only the code is kept.
            code = _field(answer, "error") or f"http_{answer.status_code}"
            raise GraphError(answer.status_code, code, "the token endpoint refused the app")
        body = answer.json()
        return str(body["access_token"]), timedelta(seconds=int(body.get("expires_in", 3599)))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _field(answer: httpx.Response, name: str) -> str | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _error_of(answer: httpx.Response) -> tuple[str, str]:
    """Graph's `{"error": {"code", "message"}}`, or the status when the body is not that."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code", f"http_{answer.status_code}")), str(error.get("message", ""))
    return f"http_{answer.status_code}", answer.reason_phrase
