"""Write-side steps over the payments tables, run inside a use case's transaction. The
ledger is only ever inserted into (`append`); nothing here updates or deletes an entry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra.db import insert_ignoring_duplicates
from clinicflow.payments.domain import Credit, PromoUsage
from clinicflow.payments.errors import PaymentNotFound
from clinicflow.payments.ports import GatewayEvent
from clinicflow.payments.tables import (
    credit_uses,
    credits,
    ledger,
    order_bookings,
    orders,
    promo_uses,
    refunds,
    request_keys,
    webhook_events,
)

o, ob, c, cu = orders.c, order_bookings.c, credits.c, credit_uses.c

# -- orders ---------------------------------------------------------------------------------


async def order(conn: AsyncConnection, order_id: str, *, lock: bool = False) -> Any:
    query = select(orders).where(o.id == order_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise PaymentNotFound(f"no payment {order_id!r}")
    return row


async def order_for(
    conn: AsyncConnection, provider: str, provider_id: str | None, order_id: str | None
) -> Any:
    """The order a gateway report is about: by its payment id, else by our order id."""
    if provider_id:
        query = select(orders).where(o.provider == provider, o.provider_id == provider_id)
        row = (await conn.execute(query.with_for_update())).first()
        if row is not None:
            return row
    if order_id and len(order_id) <= 36:
        query = select(orders).where(o.id == order_id, o.provider == provider)
        return (await conn.execute(query.with_for_update())).first()
    return None


async def update_order(conn: AsyncConnection, order_id: str, values: Mapping[str, Any]) -> Any:
    result = await conn.execute(
        update(orders).where(o.id == order_id).values(**values).returning(orders)
    )
    return result.one()


async def lines(conn: AsyncConnection, order_id: str) -> list[Any]:
    query = select(order_bookings).where(ob.order_id == order_id).order_by(ob.line_index)
    return list((await conn.execute(query)).all())


async def active_line(conn: AsyncConnection, booking_id: str) -> Any:
    """The live order line paying for this booking (or for the hold it was booked from)."""
    query = select(order_bookings).where(
        or_(ob.booking_id == booking_id, ob.confirmed_booking_id == booking_id),
        ob.state != "released",
    )
    return (await conn.execute(query)).first()


async def update_line(
    conn: AsyncConnection, order_id: str, booking_id: str, values: Mapping[str, Any]
) -> None:
    await conn.execute(
        update(order_bookings)
        .where(ob.order_id == order_id, ob.booking_id == booking_id)
        .values(**values)
    )


async def release_lines(conn: AsyncConnection, order_id: str) -> None:
    await conn.execute(
        update(order_bookings).where(ob.order_id == order_id).values(state="released")
    )


# -- the ledger -----------------------------------------------------------------------------


async def append(conn: AsyncConnection, entries: Sequence[Mapping[str, Any]]) -> int:
    """New entries only: one whose entry_key is already there is the same fact, skipped."""
    # One multi-row INSERT needs every row to name the same columns.
    rows = [
        {name: entry.get(name, _LEDGER_DEFAULTS.get(name)) for name in _LEDGER} for entry in entries
    ]
    return await insert_ignoring_duplicates(conn, ledger, rows)


_LEDGER = tuple(c.name for c in ledger.columns if c.name != "id")
_LEDGER_DEFAULTS: dict[str, Any] = {"visits": 0}


async def refunded_by_line(conn: AsyncConnection, order_id: str) -> dict[int, int]:
    lc = ledger.c
    query = (
        select(lc.line_index, func.sum(lc.amount_cents))
        .where(lc.order_id == order_id, lc.kind == "refund", lc.line_index.is_not(None))
        .group_by(lc.line_index)
    )
    return {int(i): -int(total or 0) for i, total in (await conn.execute(query)).all()}


# -- credits --------------------------------------------------------------------------------


async def patient_credits(conn: AsyncConnection, patient_id: str) -> tuple[Credit, ...]:
    query = select(credits).where(c.patient_id == patient_id).order_by(c.expires_at, c.id)
    return tuple(
        Credit(r.id, r.package, r.service, r.visit_type, r.granted, r.remaining, r.expires_at)
        for r in (await conn.execute(query)).all()
    )


async def reserve_credit(
    conn: AsyncConnection, credit_id: str, order_id: str, booking_id: str, now: datetime
) -> bool:
    """Take one visit off a stored credit for this order; False when none is left."""
    taken = await conn.execute(
        update(credits)
        .where(c.id == credit_id, c.remaining > 0)
        .values(remaining=c.remaining - 1, updated_at=now)
    )
    if taken.rowcount != 1:
        return False
    await add_credit_use(conn, credit_id, order_id, booking_id, "reserved", now)
    return True


async def add_credit_use(
    conn: AsyncConnection, credit_id: str, order_id: str, booking_id: str, state: str, at: datetime
) -> None:
    values = dict(credit_id=credit_id, order_id=order_id, booking_id=booking_id, state=state, at=at)
    await conn.execute(insert(credit_uses).values(**values))


async def credit_uses_of(conn: AsyncConnection, order_id: str) -> list[Any]:
    return list((await conn.execute(select(credit_uses).where(cu.order_id == order_id))).all())


async def set_credit_uses(
    conn: AsyncConnection, order_id: str, from_state: str, to_state: str, now: datetime
) -> list[Any]:
    result = await conn.execute(
        update(credit_uses)
        .where(cu.order_id == order_id, cu.state == from_state)
        .values(state=to_state, at=now)
        .returning(credit_uses)
    )
    return list(result.all())


async def give_back(conn: AsyncConnection, credit_ids: Iterable[str], now: datetime) -> None:
    for credit_id in credit_ids:
        await conn.execute(
            update(credits)
            .where(c.id == credit_id, c.remaining < c.granted)
            .values(remaining=c.remaining + 1, updated_at=now)
        )


async def insert_credits(
    conn: AsyncConnection, granted: Sequence[Credit], patient_id: str, order_id: str, now: datetime
) -> None:
    rows = [
        {
            "id": g.id,
            "patient_id": patient_id,
            "order_id": order_id,
            "package": g.package,
            "service": g.service,
            "visit_type": g.visit_type,
            "granted": g.granted,
            "remaining": g.remaining,
            "expires_at": g.expires_at,
            "created_at": now,
            "updated_at": now,
        }
        for g in granted
    ]
    await insert_ignoring_duplicates(conn, credits, rows)


async def revoke_credits(conn: AsyncConnection, order_id: str, now: datetime) -> int:
    """Unused visits of the packages this order bought are gone (the package was refunded)."""
    rows = (await conn.execute(select(credits).where(c.order_id == order_id))).all()
    await conn.execute(
        update(credits).where(c.order_id == order_id).values(remaining=0, updated_at=now)
    )
    return sum(r.remaining for r in rows)


# -- promotion codes ------------------------------------------------------------------------


async def promo_usage(conn: AsyncConnection, code: str, patient_id: str | None) -> PromoUsage:
    pu = promo_uses.c
    total = (await conn.execute(select(func.count()).where(pu.code == code))).scalar_one()
    mine = 0
    if patient_id is not None:
        query = select(func.count()).where(pu.code == code, pu.patient_id == patient_id)
        mine = (await conn.execute(query)).scalar_one()
    return PromoUsage(int(total), int(mine))


async def record_promo(
    conn: AsyncConnection, code: str, patient_id: str, order_id: str, now: datetime
) -> None:
    values = dict(code=code, patient_id=patient_id, order_id=order_id, used_at=now)
    await conn.execute(insert(promo_uses).values(**values))


async def release_promo(conn: AsyncConnection, order_id: str) -> None:
    # Not the ledger: a code reserved by an order that was never paid is free again.
    await conn.execute(delete(promo_uses).where(promo_uses.c.order_id == order_id))


# -- webhook events -------------------------------------------------------------------------


async def remember_event(conn: AsyncConnection, event: GatewayEvent, now: datetime) -> bool:
    """Record a delivery; False when this event was processed before (a redelivery)."""
    row = {
        "provider": event.provider,
        "event_id": event.event_id[:100],
        "type": event.type,
        "raw_type": event.raw_type[:80],
        "order_id": None,
        "outcome": "received",
        "received_at": now,
    }
    return await insert_ignoring_duplicates(conn, webhook_events, [row]) == 1


async def event_outcome(
    conn: AsyncConnection, event: GatewayEvent, outcome: str, order_id: str | None
) -> None:
    we = webhook_events.c
    await conn.execute(
        update(webhook_events)
        .where(we.provider == event.provider, we.event_id == event.event_id[:100])
        .values(outcome=outcome[:40], order_id=order_id)
    )


# -- refunds --------------------------------------------------------------------------------


async def refund(conn: AsyncConnection, refund_id: str) -> Any:
    return (await conn.execute(select(refunds).where(refunds.c.id == refund_id))).one()


async def refund_by_key(conn: AsyncConnection, key: str) -> Any:
    query = select(refunds).where(refunds.c.idempotency_key == key)
    return (await conn.execute(query)).first()


async def refund_by_provider_id(conn: AsyncConnection, provider: str, refund_id: str) -> Any:
    r = refunds.c
    query = select(refunds).where(r.provider == provider, r.provider_refund_id == refund_id)
    return (await conn.execute(query)).first()


async def refunds_of(conn: AsyncConnection, order_id: str) -> list[Any]:
    query = select(refunds).where(refunds.c.order_id == order_id).order_by(refunds.c.created_at)
    return list((await conn.execute(query)).all())


async def insert_refund(conn: AsyncConnection, values: Mapping[str, Any]) -> Any:
    result = await conn.execute(insert(refunds).values(**values).returning(refunds))
    return result.one()


async def update_refund(conn: AsyncConnection, refund_id: str, values: Mapping[str, Any]) -> Any:
    result = await conn.execute(
        update(refunds).where(refunds.c.id == refund_id).values(**values).returning(refunds)
    )
    return result.one()


# -- idempotency keys -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestKey:
    operation: str  # checkout | refund
    request_hash: str
    order_id: str
    locked_until: datetime | None


async def request_key(conn: AsyncConnection, scope: str, key: str) -> RequestKey | None:
    """The key's row, locked for this transaction (a duplicate waits here on PostgreSQL)."""
    k = request_keys.c
    query = select(request_keys).where(k.scope == scope, k.key == key).with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return RequestKey(row.operation, row.request_hash, row.order_id, row.locked_until)


async def insert_request_key(
    conn: AsyncConnection,
    scope: str,
    key: str,
    found: RequestKey,
    now: datetime,
) -> None:
    await conn.execute(
        insert(request_keys).values(
            scope=scope,
            key=key,
            operation=found.operation,
            request_hash=found.request_hash,
            order_id=found.order_id,
            locked_until=found.locked_until,
            created_at=now,
        )
    )


async def lock_request_key(
    conn: AsyncConnection, scope: str, key: str, until: datetime | None
) -> None:
    k = request_keys.c
    await conn.execute(
        update(request_keys).where(k.scope == scope, k.key == key).values(locked_until=until)
    )
