"""The database steps of a refund, each inside the caller's transaction: deciding the
amount (policy or staff override) and recording the outcome in the ledger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.catalog import Catalog
from clinicflow.infra.outbox import record
from clinicflow.payments import repository as repo
from clinicflow.payments.domain import RefundDecision, RefundRule, StaffOverride, refund_for
from clinicflow.payments.domain.errors import InvalidRefundOverride
from clinicflow.payments.domain.money import allocate
from clinicflow.payments.domain.orders import after_refund
from clinicflow.payments.domain.refunds import goodwill
from clinicflow.payments.errors import PaymentNotFound, RefundNotAllowed
from clinicflow.payments.events import payment_event
from clinicflow.payments.ports import BookingDesk
from clinicflow.payments.quoting import ledger_service
from clinicflow.payments.tables import credit_uses

REFUNDABLE = ("paid", "partially_refunded")


@dataclass(frozen=True, slots=True)
class RefundRequest:
    booking_id: str | None  # None: the whole order (or `amount_cents` of it)
    amount_cents: int | None  # None: as the policy says (a visit) or all that is left
    reason: str
    return_credit: bool | None = None  # staff: give the package credit back, or not
    rule: str | None = None  # set by the platform itself (visit_lost, paid_after_cancel)


async def decide(
    conn: AsyncConnection,
    catalog: Catalog,
    desk: BookingDesk,
    order: Any,
    req: RefundRequest,
    at: datetime,
) -> tuple[Any | None, RefundDecision]:
    """The order line refunded (None for the whole order) and the decision."""
    if order.status not in REFUNDABLE:
        raise RefundNotAllowed(
            f"the payment is {order.status}; only a paid payment can be refunded"
        )
    if req.booking_id is None:
        return None, _whole(order, req)
    line = next(
        (
            x
            for x in await repo.lines(conn, order.id)
            if req.booking_id in (x.booking_id, x.confirmed_booking_id)
        ),
        None,
    )
    if line is None:
        raise PaymentNotFound(f"payment {order.id} does not pay for booking {req.booking_id}")
    left = line.net_cents - line.refunded_cents
    if req.rule is not None:
        # The platform's own refund in full (a lost hold): money and credit both go back.
        back = line.credit_id is not None
        rule = RefundRule.STAFF_OVERRIDE
        return line, RefundDecision(left, 0, rule, req.reason, back, RefundRule.IN_TIME)
    visit = await desk.visit(conn, line.confirmed_booking_id or line.booking_id)
    status = visit.status if visit is not None else "unknown"
    override = None
    if req.amount_cents is not None:
        override = StaffOverride(req.amount_cents, req.reason, req.return_credit)
    if status not in ("cancelled", "no_show"):
        if override is not None:  # goodwill: no cancellation, so no fee and no policy
            return line, goodwill(left, override, paid_with_credit=line.credit_id is not None)
        raise RefundNotAllowed(
            f"booking {req.booking_id} is {status}: cancel it (or mark the no-show) first, "
            "or give amount_cents and a reason to refund anyway"
        )
    if override is None and await _refunded_before(conn, order.id, line.booking_id):
        raise RefundNotAllowed(
            f"booking {req.booking_id} was refunded already; give amount_cents and a reason "
            "to refund more"
        )
    return line, refund_for(
        left,
        starts_at=visit.start if visit is not None else line.starts_at,
        cancelled_at=at,
        policy=catalog.payments.cancellation,
        no_show=status == "no_show",
        paid_with_credit=line.credit_id is not None,
        override=override,
    )


def _whole(order: Any, req: RefundRequest) -> RefundDecision:
    left = order.total_cents - order.refunded_cents
    amount = left if req.amount_cents is None else req.amount_cents
    if not 0 < amount <= left:
        raise InvalidRefundOverride(
            f"amount_cents must be between 1 and the {left} cents not yet refunded, not {amount}"
        )
    why = req.reason if req.rule else f"staff: {req.reason}"
    return RefundDecision(
        amount, 0, RefundRule.STAFF_OVERRIDE, why, False, RefundRule.STAFF_OVERRIDE
    )


async def _refunded_before(conn: AsyncConnection, order_id: str, booking_id: str) -> bool:
    return any(
        r.booking_id == booking_id and r.status != "failed"
        for r in await repo.refunds_of(conn, order_id)
    )


def new_refund(
    order: Any,
    line: Any | None,
    decision: RefundDecision,
    rule: str,
    key: str,
    created_by: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "order_id": order.id,
        "booking_id": line.booking_id if line is not None else None,
        "amount_cents": decision.refund_cents,
        "fee_cents": decision.fee_cents,
        "rule": rule,
        "reason": decision.reason,
        "status": "pending",
        "provider": order.provider or order.method,
        "provider_refund_id": None,
        "idempotency_key": key,
        "credit_returned": decision.credit_returned,
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
    }


async def book(
    conn: AsyncConnection, order: Any, refund: Any, created_by: str, now: datetime
) -> Any:
    """Ledger entries, credit returned, order totals and the event, for a refund the gateway
    accepted (or one that moves no money). Returns the order as it is now."""
    shares = await _shares(conn, order, refund)
    base = {
        "order_id": order.id,
        "patient_id": order.patient_id,
        "currency": order.currency,
        "provider": order.provider or order.method,
        "provider_ref": order.provider_id,
        "occurred_at": now,
        "created_by": created_by,
        "reason": refund.reason,
    }
    lines = {line["index"]: line for line in order.quote["lines"]}
    entries = [
        base
        | {
            "entry_key": f"refund:{refund.id}:{index}",
            "kind": "refund",
            "amount_cents": -cents,
            "visits": 0,
            "service": ledger_service(lines[index]),
            "line_index": index,
            "booking_id": lines[index].get("booking_id"),
        }
        for index, cents in shares.items()
        if cents > 0
    ]
    booking_line = _booking_line(order, refund)
    if refund.fee_cents > 0:
        entries.append(_memo(base, f"fee:{refund.id}", "fee", refund.fee_cents, 0, booking_line))
    if refund.credit_returned and booking_line is not None and booking_line["credit_id"]:
        credit_id = booking_line["credit_id"]
        entries.append(
            _memo(base, f"credit_return:{refund.id}", "credit_return", 0, 1, booking_line)
            | {"provider": "credit", "provider_ref": credit_id}
        )
        await repo.give_back(conn, [credit_id], now)
        await conn.execute(
            update(credit_uses)
            .where(credit_uses.c.order_id == order.id)
            .where(credit_uses.c.booking_id == refund.booking_id)
            .values(state="returned", at=now)
        )
    await repo.append(conn, entries)
    for line in await repo.lines(conn, order.id):
        if shares.get(line.line_index):
            extra = line.refunded_cents + shares[line.line_index]
            await repo.update_line(conn, order.id, line.booking_id, {"refunded_cents": extra})
    return await _totals(conn, order, refund, shares, base, now)


async def _totals(
    conn: AsyncConnection,
    order: Any,
    refund: Any,
    shares: dict[int, int],
    base: dict[str, Any],
    now: datetime,
) -> Any:
    refunded = order.refunded_cents + sum(shares.values())
    status = after_refund(order.total_cents, refunded) if order.total_cents else order.status
    row = await repo.update_order(
        conn, order.id, {"refunded_cents": refunded, "status": status, "updated_at": now}
    )
    if status == "refunded" and any(x["kind"] == "package" for x in order.quote["lines"]):
        revoked = await repo.revoke_credits(conn, order.id, now)
        if revoked:
            memo = {"reason": "package refunded: its unused visits are withdrawn"}
            entry = _memo(base, f"revoke:{refund.id}", "adjustment", 0, -revoked, None)
            await repo.append(conn, [entry | memo | {"provider": "credit"}])
    await record(
        conn,
        payment_event(
            "refunded",
            row,
            now,
            refund_id=refund.id,
            amount_cents=refund.amount_cents,
            booking_id=refund.booking_id,
        ),
    )
    return row


async def _shares(conn: AsyncConnection, order: Any, refund: Any) -> dict[int, int]:
    """How the refunded cents split over the order's lines."""
    if refund.amount_cents == 0:
        return {}
    line = _booking_line(order, refund)
    if line is not None:
        return {int(line["index"]): refund.amount_cents}
    refunded = await repo.refunded_by_line(conn, order.id)
    quoted = order.quote["lines"]
    left = [max(0, x["total_cents"] - refunded.get(x["index"], 0)) for x in quoted]
    cents = allocate(refund.amount_cents, left)
    return {x["index"]: c for x, c in zip(quoted, cents, strict=True)}


def _booking_line(order: Any, refund: Any) -> dict[str, Any] | None:
    if refund.booking_id is None:
        return None
    return next((x for x in order.quote["lines"] if x.get("booking_id") == refund.booking_id), None)


def _memo(
    base: dict[str, Any],
    key: str,
    kind: str,
    cents: int,
    visits: int,
    line: dict[str, Any] | None,
) -> dict[str, Any]:
    return base | {
        "entry_key": key,
        "kind": kind,
        "amount_cents": cents,
        "visits": visits,
        "service": ledger_service(line) if line is not None else None,
        "line_index": line["index"] if line is not None else None,
        "booking_id": line.get("booking_id") if line is not None else None,
    }
