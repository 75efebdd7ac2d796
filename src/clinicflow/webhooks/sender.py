"""Sending deliveries: claim in a short transaction, POST with no transaction open, record
the attempt in another. A receiver's failure is logged on the delivery and rescheduled by the
webhooks' own retry schedule; it is never raised to the caller (the event bus, a timer)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

import httpx

from clinicflow.infra.crypto import KeyRing
from clinicflow.infra.db import Database
from clinicflow.infra.logging import get_logger
from clinicflow.shared.clock import Clock
from clinicflow.webhooks import repository as repo
from clinicflow.webhooks.domain.retry import Random, RetrySchedule
from clinicflow.webhooks.domain.signing import HEADER, sign
from clinicflow.webhooks.tables import seal_context
from clinicflow.webhooks.targets import TargetPolicy, TargetRefused

log = get_logger(__name__)
USER_AGENT = "clinicflow-webhooks"


class WebhookSender:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        keys: KeyRing,
        http: httpx.AsyncClient,
        schedule: RetrySchedule | None = None,
        rand: Random | None = None,
        *,
        timeout: float = 10.0,
        targets: TargetPolicy | None = None,
        batch: int = 50,
        concurrency: int = 8,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self._db = db
        self._clock = clock
        self._keys = keys
        self._http = http
        self.schedule = schedule or RetrySchedule()
        self._rand = rand or random.Random().random  # noqa: S311 (jitter, not a secret)
        self._timeout = timeout
        self.targets = targets or TargetPolicy()
        self._batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        # Longer than an attempt can take, so a claim is only ever retaken from a dead worker.
        self._lease = max(lease, timedelta(seconds=timeout * 3))

    async def send_due(self, now: datetime) -> int:
        """Attempt every pending delivery due at `now` (up to one batch); returns how many
        attempts were made. The worker and the server call this every few seconds."""
        async with self._db.write() as conn:
            claims = await repo.claim_due(conn, now, now + self._lease, self._batch)
        await self._attempt_all(claims)
        return len(claims)

    async def send_event(self, event_id: str) -> int:
        """Attempt the pending deliveries of one event that are due now (the first attempt,
        right after the event arrives)."""
        now = self._clock.now()
        async with self._db.write() as conn:
            claims = await repo.claim_due(conn, now, now + self._lease, self._batch, event_id)
        await self._attempt_all(claims)
        return len(claims)

    async def resend_failed(self, delivery_id: str) -> repo.Result | None:
        """One more attempt of a given-up delivery, now; failing, it stays failed (no new
        schedule). None when it is not failed (any more)."""
        now = self._clock.now()
        async with self._db.write() as conn:
            claim = await repo.claim_failed(conn, delivery_id, now, now + self._lease)
        if claim is None:
            return None
        return await self._attempt(claim, final=True)

    async def _attempt_all(self, claims: Sequence[repo.Claim]) -> None:
        async def bounded(claim: repo.Claim) -> None:
            async with self._slots:
                try:
                    await self._attempt(claim, final=False)
                except Exception:
                    # Ours, not the receiver's (a key missing from the ring, the database):
                    # the claim's lease runs out and the delivery is tried again then.
                    log.exception("webhook_delivery_not_attempted", delivery_id=claim.delivery_id)

        await asyncio.gather(*(bounded(c) for c in claims))

    async def _attempt(self, claim: repo.Claim, *, final: bool) -> repo.Result:
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
        result = self._result(claim, at, status_code, error, duration_ms, final=final)
        async with self._db.write() as conn:
            if not await repo.record(conn, claim, result):
                log.warning("webhook_delivery_claimed_again", delivery_id=claim.delivery_id)
        return result

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        try:
            # Resolved and checked now, not only at subscription: the name may lead elsewhere
            # today. The request goes to the checked address itself (targets.py).
            target = await self.targets.resolve(url)
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

    def _result(
        self,
        claim: repo.Claim,
        at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        *,
        final: bool,
    ) -> repo.Result:
        if error is None:
            return repo.Result(at, status_code, None, duration_ms, "delivered", None)
        failed = claim.attempts + 1
        retry_at = None if final else self.schedule.next_attempt(failed, at, self._rand)
        status = "failed" if retry_at is None else "pending"
        return repo.Result(at, status_code, error[:200], duration_ms, status, retry_at)

    def _secrets(self, claim: repo.Claim, now: datetime) -> list[str]:
        """The current secret, plus the previous one while its grace period lasts."""
        row = claim.subscription_id
        found = [self._keys.decrypt(claim.secret_enc, context=seal_context("secret_enc"), row=row)]
        expires = claim.previous_secret_expires_at
        if claim.previous_secret_enc and expires is not None and expires > now:
            context = seal_context("previous_secret_enc")
            found.append(self._keys.decrypt(claim.previous_secret_enc, context=context, row=row))
        return found
