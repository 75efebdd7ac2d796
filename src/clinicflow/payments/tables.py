"""Payments tables. Amounts are integer cents; times are UTC instants. No PHI is kept here:
orders and ledger entries name the patient by id only, and the quote holds prices and
service names, never a person's details.

`payments_ledger` is append-only: the code inserts entries and never updates or deletes one
(corrections are new `adjustment` entries). Each entry has an `entry_key` that says which
fact it records (`charge:<order>:<line>`, `refund:<refund id>:<line>` …), unique, so a
repeated webhook or retried use case cannot record the same money twice.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from clinicflow.infra.columns import check_one_of, instant, timestamps, uuid_key, uuid_ref
from clinicflow.infra.db import metadata

ORDER_STATUSES = (
    "open",  # created; no gateway payment yet (or the gateway was down)
    "pending",  # the gateway payment exists; the buyer has to pay
    "paid",
    "failed",  # the last attempt failed; the buyer may try again on the same payment
    "canceled",
    "refunded",
    "partially_refunded",
)
METHODS = ("stripe", "paypal", "in_clinic")
TENDERS = ("cash", "card_terminal")
LINE_STATES = ("reserved", "confirmed", "released", "lost")
LEDGER_KINDS = (
    "charge",
    "refund",
    "fee",
    "credit_purchase",
    "credit_use",
    "credit_return",
    "adjustment",
)
# Kinds that move money; the others are memo entries (amount 0, or the fee kept) whose
# `visits` column counts package visits.
MONEY_KINDS = ("charge", "refund", "adjustment")
REFUND_STATUSES = ("pending", "succeeded", "failed")
CREDIT_USE_STATES = ("reserved", "used", "returned", "released")


# A line still holding its booking: the partial unique index's condition. A query that wants
# that index states this very text (SQLite matches it by its words, not a bound "released").
LINE_ACTIVE = text("state <> 'released'")

orders = Table(
    "payments_order",
    metadata,
    uuid_key(),
    uuid_ref("patient_id"),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    # The itemized breakdown the order was placed at: lines, discounts and why, notes.
    Column("quote", JSON, nullable=False),
    Column("subtotal_cents", Integer, nullable=False),
    Column("discount_cents", Integer, nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("refunded_cents", Integer, nullable=False, server_default="0"),
    Column("method", String(16), nullable=False),
    Column("tender", String(16), nullable=True),  # in clinic: cash or card_terminal
    Column("provider", String(16), nullable=True),  # the gateway that holds the payment
    Column("provider_id", String(64), nullable=True),  # its payment id (pi_…, PayPal order)
    Column("promo_code", String(32), nullable=True),
    Column("failure_code", String(64), nullable=True),
    Column("created_by", String(80), nullable=False),
    *timestamps(),
    instant("paid_at", nullable=True),
    check_one_of("status", ORDER_STATUSES),
    check_one_of("method", METHODS),
    CheckConstraint("total_cents >= 0 AND refunded_cents >= 0", name="amounts"),
    Index("ux_payments_order_provider_id", "provider", "provider_id", unique=True),
    Index("ix_payments_order_patient_created", "patient_id", "created_at"),
)

# One row per visit line: the booking it pays for and what became of it.
order_bookings = Table(
    "payments_order_booking",
    metadata,
    uuid_ref("order_id", "payments_order.id"),
    uuid_ref("booking_id"),
    Column("line_index", Integer, nullable=False),
    Column("service", String(64), nullable=False),
    Column("visit_type", String(32), nullable=False),
    Column("practitioner", String(64), nullable=False),
    instant("starts_at"),
    Column("net_cents", Integer, nullable=False),  # the line's total after discounts
    Column("credit_id", String(80), nullable=True),  # the package credit that covers it
    Column("state", String(16), nullable=False),
    # When an expired hold was booked again for the same slot on payment: the new booking.
    uuid_ref("confirmed_booking_id", nullable=True),
    Column("refunded_cents", Integer, nullable=False, server_default="0"),
    Column("cpt_codes", JSON, nullable=True),  # procedure codes for a superbill
    Column("icd10_codes", JSON, nullable=True),  # diagnosis codes
    PrimaryKeyConstraint("order_id", "booking_id"),
    check_one_of("state", LINE_STATES),
    # A booking is paid by one live order at a time; a released line frees it.
    Index(
        "ux_payments_order_booking_active",
        "booking_id",
        unique=True,
        sqlite_where=LINE_ACTIVE,
        postgresql_where=LINE_ACTIVE,
    ),
    Index("ix_payments_order_booking_confirmed", "confirmed_booking_id"),
)

ledger = Table(
    "payments_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_key", String(160), nullable=False, unique=True),
    uuid_ref("order_id"),
    uuid_ref("patient_id"),
    Column("kind", String(20), nullable=False),
    Column("amount_cents", Integer, nullable=False),  # signed: money in > 0, out < 0
    Column("visits", Integer, nullable=False, server_default="0"),  # package visits, signed
    Column("currency", String(3), nullable=False),
    Column("service", String(80), nullable=True),  # a service key, or package:<key>
    Column("line_index", Integer, nullable=True),
    uuid_ref("booking_id", nullable=True),
    Column("provider", String(16), nullable=False),  # stripe, paypal, in_clinic, credit
    Column("provider_ref", String(64), nullable=True),  # the provider's payment id
    instant("occurred_at"),
    Column("created_by", String(80), nullable=False),
    Column("reason", Text, nullable=True),
    check_one_of("kind", LEDGER_KINDS),
    Index("ix_payments_ledger_occurred_at", "occurred_at"),
    Index("ix_payments_ledger_provider_ref", "provider", "provider_ref"),
    Index("ix_payments_ledger_order", "order_id"),
)

credits = Table(
    "payments_credit",
    metadata,
    Column("id", String(80), primary_key=True),  # "<order id>/<item>"
    uuid_ref("patient_id"),
    uuid_ref("order_id", "payments_order.id"),
    Column("package", String(64), nullable=False),
    Column("service", String(64), nullable=False),
    Column("visit_type", String(32), nullable=False),
    Column("granted", Integer, nullable=False),
    Column("remaining", Integer, nullable=False),
    instant("expires_at"),
    *timestamps(),
    CheckConstraint("remaining >= 0 AND remaining <= granted", name="remaining"),
    Index("ix_payments_credit_patient", "patient_id"),
)

credit_uses = Table(
    "payments_credit_use",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("credit_id", String(80), ForeignKey("payments_credit.id"), nullable=False),
    uuid_ref("order_id"),
    uuid_ref("booking_id"),
    Column("state", String(16), nullable=False),
    instant("at"),
    check_one_of("state", CREDIT_USE_STATES),
    Index("ux_payments_credit_use_order_booking", "order_id", "booking_id", unique=True),
)

promo_uses = Table(
    "payments_promo_use",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(32), nullable=False),
    uuid_ref("patient_id"),
    Column("order_id", String(36), nullable=False, unique=True),
    instant("used_at"),
    Index("ix_payments_promo_use_code_patient", "code", "patient_id"),
)

webhook_events = Table(
    "payments_webhook_event",
    metadata,
    Column("provider", String(16), nullable=False),
    Column("event_id", String(100), nullable=False),
    Column("type", String(40), nullable=False),
    Column("raw_type", String(80), nullable=False),
    uuid_ref("order_id", nullable=True),
    Column("outcome", String(40), nullable=False),
    instant("received_at"),
    PrimaryKeyConstraint("provider", "event_id"),
)

refunds = Table(
    "payments_refund",
    metadata,
    uuid_key(),
    uuid_ref("order_id", "payments_order.id"),
    uuid_ref("booking_id", nullable=True),
    Column("amount_cents", Integer, nullable=False),
    Column("fee_cents", Integer, nullable=False),
    Column("rule", String(24), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("provider_refund_id", String(64), nullable=True),
    # Sent to the gateway; unique, so a retried refund (or a redelivered cancellation) finds
    # the refund it already started instead of making a second one.
    Column("idempotency_key", String(120), nullable=False, unique=True),
    Column("credit_returned", Boolean, nullable=False),
    Column("created_by", String(80), nullable=False),
    *timestamps(),
    check_one_of("status", REFUND_STATUSES),
    CheckConstraint("amount_cents >= 0 AND fee_cents >= 0", name="amounts"),
    Index("ix_payments_refund_order", "order_id"),
    Index("ix_payments_refund_provider_refund", "provider", "provider_refund_id"),
)

OPERATIONS = ("checkout", "refund")

# A client's `Idempotency-Key` on checkout or a refund (payments/idempotency.py). Keys are
# scoped per caller; the request is kept only as a keyed fingerprint. `locked_until` is the
# claim of the request at work with this key: a duplicate meanwhile is answered 409.
request_keys = Table(
    "payments_request_key",
    metadata,
    Column("scope", String(120), nullable=False),
    Column("key", String(255), nullable=False),
    Column("operation", String(16), nullable=False),
    Column("request_hash", String(64), nullable=False),
    uuid_ref("order_id", "payments_order.id"),
    instant("locked_until", nullable=True),
    instant("created_at"),
    PrimaryKeyConstraint("scope", "key"),
    check_one_of("operation", OPERATIONS),
)
