"""The ledger's entries for each fact: a payment, a refund, a package withdrawn, a refund
made (or failed) at the gateway.

The ledger is append-only; each entry's `entry_key` names the fact it records
(`charge:<order>:<line>`, `refund:<refund id>:<line>` …), so recording a fact twice adds
nothing. Money kinds (charge, refund, adjustment) carry signed cents; memo kinds (fee,
credit_purchase, credit_use, credit_return) carry 0 cents, or the fee kept, and count
package visits in `visits`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypedDict

from clinicflow.payments.domain.money import allocate
from clinicflow.payments.domain.orders import Order
from clinicflow.payments.domain.packages import Credit
from clinicflow.payments.domain.quotes import QuotedLine, ledger_service
from clinicflow.payments.domain.refunds import Refund


@dataclass(frozen=True, slots=True)
class Entry:
    entry_key: str
    order_id: str
    patient_id: str
    kind: str
    amount_cents: int  # signed: money in > 0, out < 0
    currency: str
    provider: str  # stripe, paypal, in_clinic, credit
    occurred_at: datetime
    created_by: str
    visits: int = 0  # package visits, signed
    service: str | None = None  # a service key, or package:<key>
    line_index: int | None = None
    booking_id: str | None = None
    provider_ref: str | None = None  # the provider's payment id (or the credit's)
    reason: str | None = None


def payment_entries(
    order: Order,
    bought: Sequence[Credit],
    provider: str,
    provider_ref: str | None,
    created_by: str,
    now: datetime,
) -> list[Entry]:
    """A paid order: a charge per line that costs money, a credit use per visit a package
    credit covers, a purchase per credit its packages grant."""
    base = _of(order)
    entries: list[Entry] = []
    for line in order.quote["lines"]:
        index, where = line["index"], _where(line)
        if line["total_cents"] > 0:
            entries.append(
                Entry(
                    f"charge:{order.id}:{index}",
                    **base,
                    kind="charge",
                    amount_cents=line["total_cents"],
                    provider=provider,
                    provider_ref=provider_ref,
                    occurred_at=now,
                    created_by=created_by,
                    reason=line["description"],
                    **where,
                )
            )
        if line["kind"] == "visit" and line["credit_id"]:
            entries.append(
                Entry(
                    f"credit_use:{order.id}:{index}",
                    **base,
                    kind="credit_use",
                    amount_cents=0,
                    visits=-1,
                    provider="credit",
                    provider_ref=line["credit_id"],
                    occurred_at=now,
                    created_by=created_by,
                    **where,
                )
            )
    entries += [
        Entry(
            f"credit_purchase:{credit.id}",
            **base,
            kind="credit_purchase",
            amount_cents=0,
            visits=credit.granted,
            service=credit.service,
            provider="credit",
            provider_ref=credit.id,
            occurred_at=now,
            created_by=created_by,
            reason=f"package {credit.package}",
        )
        for credit in bought
    ]
    return entries


def refund_shares(refund: Refund, order: Order, refunded: Mapping[int, int]) -> dict[int, int]:
    """How a refund's cents split over the order's lines: all on the visit refunded, or over
    the whole order's lines by what each has left (`refunded`: cents per line so far)."""
    if refund.amount_cents == 0:
        return {}
    line = order.quoted_booking(refund.booking_id)
    if line is not None:
        return {line["index"]: refund.amount_cents}
    quoted = order.quote["lines"]
    left = [max(0, x["total_cents"] - refunded.get(x["index"], 0)) for x in quoted]
    cents = allocate(refund.amount_cents, left)
    return {x["index"]: c for x, c in zip(quoted, cents, strict=True)}


def refund_entries(
    order: Order, refund: Refund, shares: Mapping[int, int], created_by: str, now: datetime
) -> list[Entry]:
    """A refund the gateway accepted (or one that moves no money): the cents out per line,
    the fee kept, and the package visit given back."""

    def memo(key: str, kind: str, cents: int, visits: int, line: QuotedLine | None) -> Entry:
        return _at_gateway(order, key, kind, cents, created_by, now, refund.reason, visits, line)

    entries = [
        memo(f"refund:{refund.id}:{index}", "refund", -cents, 0, order.quoted(index))
        for index, cents in shares.items()
        if cents > 0
    ]
    line = order.quoted_booking(refund.booking_id)
    if refund.fee_cents > 0:
        entries.append(memo(f"fee:{refund.id}", "fee", refund.fee_cents, 0, line))
    credit_id = returned_credit(order, refund)
    if credit_id is not None:
        back = memo(f"credit_return:{refund.id}", "credit_return", 0, 1, line)
        entries.append(replace(back, provider="credit", provider_ref=credit_id))
    return entries


def returned_credit(order: Order, refund: Refund) -> str | None:
    """The package credit a refund gives a visit back to, if it does."""
    line = order.quoted_booking(refund.booking_id)
    if not refund.credit_returned or line is None:
        return None
    return line["credit_id"] or None


def revocation(order: Order, refund: Refund, visits: int, created_by: str, now: datetime) -> Entry:
    """A package refunded in full: its `visits` unused visits are withdrawn."""
    return Entry(
        f"revoke:{refund.id}",
        **_of(order),
        kind="adjustment",
        amount_cents=0,
        provider="credit",
        occurred_at=now,
        created_by=created_by,
        visits=-visits,
        provider_ref=order.provider_id,
        reason="package refunded: its unused visits are withdrawn",
    )


def gateway_entry(
    order: Order, key: str, kind: str, cents: int, reason: str, now: datetime
) -> Entry:
    """Money the gateway moved on its own: a refund made at its dashboard, a refund it
    gave up on after accepting it."""
    return _at_gateway(order, key, kind, cents, f"webhook:{order.provider}", now, reason)


def _at_gateway(
    order: Order,
    key: str,
    kind: str,
    cents: int,
    created_by: str,
    now: datetime,
    reason: str | None,
    visits: int = 0,
    line: QuotedLine | None = None,
) -> Entry:
    """An entry about the order's payment at its gateway (or in the clinic): money a refund
    moved, the fee kept, a visit given back, or what the gateway did on its own."""
    return Entry(
        key,
        **_of(order),
        kind=kind,
        amount_cents=cents,
        provider=order.provider or order.method,
        occurred_at=now,
        created_by=created_by,
        visits=visits,
        provider_ref=order.provider_id,
        reason=reason,
        **_where(line),
    )


class _Of(TypedDict):
    order_id: str
    patient_id: str
    currency: str


def _of(order: Order) -> _Of:
    return {"order_id": order.id, "patient_id": order.patient_id, "currency": order.currency}


class _Where(TypedDict):
    service: str | None
    line_index: int | None
    booking_id: str | None


def _where(line: QuotedLine | None) -> _Where:
    """Which line of the order an entry is about (none: the order as a whole)."""
    if line is None:
        return {"service": None, "line_index": None, "booking_id": None}
    return {
        "service": ledger_service(line),
        "line_index": line["index"],
        "booking_id": line.get("booking_id"),
    }
