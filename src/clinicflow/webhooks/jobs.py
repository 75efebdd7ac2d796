"""Sending deliveries, the webhooks' job: claim in a short transaction, POST with no
transaction open, record the attempt in another. A receiver's failure is logged on the
delivery and rescheduled by the webhooks' own retry schedule; it is never raised to the
caller (the event bus, a timer).

Before every POST the receiver's name is resolved again and every address judged
(`domain/targets.py`); the request then goes to the checked address itself, with the name
kept for the Host header, TLS's SNI and the certificate check (`Target`).
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock
from clinicflow.webhooks.domain.deliveries import Claim, Outcome, outcome
from clinicflow.webhooks.domain.retry import Random, RetrySchedule
from clinicflow.webhooks.domain.secrets import previous_live, seal_context
from clinicflow.webhooks.domain.signing import HEADER, sign
from clinicflow.webhooks.domain.targets import IPAddress, TargetPolicy, TargetRefused, unresolved
from clinicflow.webhooks.ports import Resolver, WebhooksUnitOfWork

log = get_logger(__name__)
USER_AGENT = "clinicflow-webhooks"


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The machine's resolver (getaddrinfo), off the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Target:
    """A checked receiver: connect to `pinned_url` (the checked address), say `host_header`."""

    url: httpx.URL
    address: IPAddress

    @property
    def pinned_url(self) -> httpx.URL:
        return self.url.copy_with(host=str(self.address))

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def extensions(self) -> dict[str, str]:
        # TLS: the certificate is checked against the name, and the name goes in SNI.
        return {"sni_hostname": self.url.host} if self.url.scheme == "https" else {}


async def resolve_target(url: str, policy: TargetPolicy, resolver: Resolver) -> Target:
    """The receiver at `url`, every address of its name checked; raises TargetRefused."""
    parsed = httpx.URL(url)
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        found = await resolver(host, port)
    except OSError:
        raise unresolved(host) from None
    return Target(parsed, policy.checked(host, found))


class WebhookSender:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[WebhooksUnitOfWork],
        clock: Clock,
        keys: KeyRing,
        http: httpx.AsyncClient,
        schedule: RetrySchedule | None = None,
        rand: Random | None = None,
        timeout: float = 10.0,
        policy: TargetPolicy | None = None,
        resolver: Resolver = system_resolver,
        batch: int = 50,
        concurrency: int = 8,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._keys = keys
        self._http = http
        self.schedule = schedule or RetrySchedule()
        self._rand = rand or random.Random().random  # noqa: S311 (jitter, not a secret)
        self._timeout = timeout
        self.policy = policy or TargetPolicy()
        self.resolver = resolver
        self._batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        # Longer than an attempt can take, so a claim is only ever retaken from a dead worker.
        self._lease = max(lease, timedelta(seconds=timeout * 3))

    async def send_due(self, now: datetime) -> int:
        """Attempt every pending delivery due at `now` (up to one batch); returns how many
        attempts were made. The worker and the server call this every few seconds."""
        async with self._uow() as uow:
            claims = await uow.deliveries.claim_due(now, now + self._lease, self._batch)
            await uow.commit()
        await self._attempt_all(claims)
        return len(claims)

    async def send_event(self, event_id: str) -> int:
        """Attempt the pending deliveries of one event that are due now (the first attempt,
        right after the event arrives)."""
        now = self._clock.now()
        async with self._uow() as uow:
            claims = await uow.deliveries.claim_due(now, now + self._lease, self._batch, event_id)
            await uow.commit()
        await self._attempt_all(claims)
        return len(claims)

    async def resend_failed(self, delivery_id: str) -> Outcome | None:
        """One more attempt of a given-up delivery, now; failing, it stays failed (no new
        schedule). None when it is not failed (any more)."""
        now = self._clock.now()
        async with self._uow() as uow:
            claim = await uow.deliveries.claim_failed(delivery_id, now, now + self._lease)
            await uow.commit()
        if claim is None:
            return None
        return await self._attempt(claim, final=True)

    async def target(self, url: str) -> Target:
        """Where `url` leads now, checked; raises TargetRefused."""
        return await resolve_target(url, self.policy, self.resolver)

    async def _attempt_all(self, claims: Sequence[Claim]) -> None:
        async def bounded(claim: Claim) -> None:
            async with self._slots:
                try:
                    await self._attempt(claim, final=False)
                except Exception:
                    # Ours, not the receiver's (a key missing from the ring, the database):
                    # the claim's lease runs out and the delivery is tried again then.
                    log.exception("webhook_delivery_not_attempted", delivery_id=claim.delivery_id)

        await asyncio.gather(*(bounded(c) for c in claims))

    async def _attempt(self, claim: Claim, *, final: bool) -> Outcome:
        body = claim.body.encode()
        at = self._clock.now()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            HEADER: sign(self._secrets(claim, at), int(at.timestamp()), body),
            "Clinicflow-Event-Id": claim.event_id,
            "Clinicflow-Event-Type": claim.event_type,
            "Clinicflow-Delivery-Id": claim.delivery_id,
            "Clinicflow-Attempt": str(claim.attempts + 1),
        }
        started = time.perf_counter()
        status_code, error = await self._post(claim.url, body, headers)
        duration_ms = int((time.perf_counter() - started) * 1000)
        result = outcome(
            claim,
            at,
            status_code,
            error,
            duration_ms,
            schedule=self.schedule,
            rand=self._rand,
            final=final,
        )
        async with self._uow() as uow:
            if not await uow.deliveries.record(claim, result):
                log.warning("webhook_delivery_claimed_again", delivery_id=claim.delivery_id)
            await uow.commit()
        return result

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        try:
            # Resolved and checked now, not only at subscription: the name may lead elsewhere
            # today. The request goes to the checked address itself.
            target = await self.target(url)
        except TargetRefused as exc:
            return None, f"refused: {exc}"
        request = self._http.build_request(
            "POST",
            target.pinned_url,
            content=body,
            headers={**headers, "Host": target.host_header},
            timeout=self._timeout,
            extensions=target.extensions,
        )
        try:
            # Streamed and never read: a receiver's response body is of no use to us, and a
            # large one must not be buffered. Redirects are not followed (the URL was checked).
            response = await self._http.send(request, stream=True, follow_redirects=False)
            code = response.status_code
            await response.aclose()
        except httpx.TimeoutException:
            return None, f"timed out after {self._timeout:g} s"
        except Exception as exc:  # refused, DNS, TLS, a bad URL: the receiver's side
            return None, f"request failed: {type(exc).__name__}"
        return code, None if 200 <= code < 300 else f"HTTP {code}"

    def _secrets(self, claim: Claim, now: datetime) -> list[str]:
        """The current secret, plus the previous one while its grace period lasts."""
        row = claim.subscription_id
        found = [self._keys.decrypt(claim.secret_enc, context=seal_context("secret_enc"), row=row)]
        if claim.previous_secret_enc and previous_live(claim.previous_secret_expires_at, now):
            context = seal_context("previous_secret_enc")
            found.append(self._keys.decrypt(claim.previous_secret_enc, context=context, row=row))
        return found
