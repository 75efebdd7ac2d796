"""Idempotency keys on checkout and refunds, as `POST /v1/bookings` has them.

A client may send `Idempotency-Key`; keys are scoped per caller. The request is remembered as
a keyed fingerprint (HMAC) of the operation, the payment it names and its body, so the same
key with another request is refused (422 `idempotency_key_reused`) and the stored hash
reveals nothing. The same key with the same request answers the same payment or refund,
and continues it when the first attempt stopped short of the gateway's answer.

While a request with a key is at work, the key is claimed (`locked_until`): a duplicate that
arrives meanwhile is answered 409 `idempotency_key_in_use` and never reaches the gateway.
The claim lapses after `CLAIM_FOR`, so a key left claimed by a process that died can be
retried. The gateway gets a key derived from the same request (a checkout's
`<order>:<method>`, a refund's `key:<digest>`), so even a request that outlived its claim
cannot charge or refund twice: the vendor answers with the first call's result.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.payments.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from clinicflow.payments.idempotency_keys.ports import RequestKey
from clinicflow.payments.ports import PaymentsUnitOfWork
from clinicflow.shared.actor import Actor

# Longer than a gateway call with its retries; a claim outliving its request only delays a
# retry, since the gateway's own key keeps a late duplicate from doing the work again.
CLAIM_FOR = timedelta(minutes=2)
_SCOPE_LENGTH = 120


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    scope: str  # the caller
    key: str
    operation: str  # checkout | refund
    fingerprint: str


class IdempotencyKeys:
    def __init__(self, *, secret: bytes, uow: UnitsOfWork[PaymentsUnitOfWork]) -> None:
        self._secret = secret
        self._uow = uow

    def keyed(
        self, actor: Actor, key: str, operation: str, request: Mapping[str, object]
    ) -> KeyedRequest:
        scope = actor.id
        if len(scope) > _SCOPE_LENGTH:
            scope = hashlib.sha256(scope.encode()).hexdigest()
        body = json.dumps({"operation": operation, **request}, sort_keys=True, default=str)
        fingerprint = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
        return KeyedRequest(scope, key, operation, fingerprint)

    def gateway_key(self, keyed: KeyedRequest) -> str:
        """The key a refund is sent to the gateway with: the same for every retry."""
        name = f"{keyed.scope}\n{keyed.key}".encode()
        return "key:" + hmac.new(self._secret, name, hashlib.sha256).hexdigest()[:40]

    async def claim(
        self, uow: PaymentsUnitOfWork, keyed: KeyedRequest, now: datetime
    ) -> str | None:
        """In the caller's write transaction: the payment an earlier request with this key
        made or refunded, now claimed by this one; None when the key is new."""
        found = await uow.request_keys.find(keyed.scope, keyed.key)
        if found is None:
            return None
        if not hmac.compare_digest(found.request_hash, keyed.fingerprint):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request; send a new "
                "key for a new payment or refund"
            )
        if found.locked_until is not None and found.locked_until > now:
            raise IdempotencyKeyInUse(
                "a request with this Idempotency-Key is still at work; send it again in a few "
                "seconds to get its answer"
            )
        await uow.request_keys.lock(keyed.scope, keyed.key, now + CLAIM_FOR)
        return found.order_id

    async def remember(
        self, uow: PaymentsUnitOfWork, keyed: KeyedRequest, order_id: str, now: datetime
    ) -> None:
        """A new key, claimed by this request, stored with the order it makes or refunds."""
        found = RequestKey(keyed.operation, keyed.fingerprint, order_id, now + CLAIM_FOR)
        await uow.request_keys.add(keyed.scope, keyed.key, found, now)

    async def release(self, keyed: KeyedRequest) -> None:
        """The request is done: a duplicate from now on is answered its result."""
        async with self._uow() as uow:
            await uow.request_keys.lock(keyed.scope, keyed.key, None)
            await uow.commit()
