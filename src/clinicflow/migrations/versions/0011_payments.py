"""Payments: orders and the bookings they pay for, the append-only ledger, package credits
and their uses, promotion-code uses, gateway webhook events (idempotency) and refunds.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_STATUSES = (
    "open",
    "pending",
    "paid",
    "failed",
    "canceled",
    "refunded",
    "partially_refunded",
)
METHODS = ("stripe", "paypal", "in_clinic")
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
REFUND_STATUSES = ("pending", "succeeded", "failed")
CREDIT_USE_STATES = ("reserved", "used", "returned", "released")
LINE_ACTIVE = sa.text("state <> 'released'")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    _orders()
    _ledger()
    _credits()
    _events_and_refunds()


def _orders() -> None:
    op.create_table(
        "payments_order",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("quote", sa.JSON, nullable=False),
        sa.Column("subtotal_cents", sa.Integer, nullable=False),
        sa.Column("discount_cents", sa.Integer, nullable=False),
        sa.Column("total_cents", sa.Integer, nullable=False),
        sa.Column("refunded_cents", sa.Integer, nullable=False, server_default="0"),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("tender", sa.String(16), nullable=True),
        sa.Column("provider", sa.String(16), nullable=True),
        sa.Column("provider_id", sa.String(64), nullable=True),
        sa.Column("promo_code", sa.String(32), nullable=True),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("paid_at", UTCDateTime, nullable=True),
        sa.CheckConstraint(_one_of("status", ORDER_STATUSES), name="status"),
        sa.CheckConstraint(_one_of("method", METHODS), name="method"),
        sa.CheckConstraint("total_cents >= 0 AND refunded_cents >= 0", name="amounts"),
    )
    op.create_index(
        "ux_payments_order_provider_id", "payments_order", ["provider", "provider_id"], unique=True
    )
    op.create_index(
        "ix_payments_order_patient_created", "payments_order", ["patient_id", "created_at"]
    )
    op.create_table(
        "payments_order_booking",
        sa.Column("order_id", sa.String(36), sa.ForeignKey("payments_order.id"), nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=False),
        sa.Column("line_index", sa.Integer, nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("visit_type", sa.String(32), nullable=False),
        sa.Column("practitioner", sa.String(64), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("net_cents", sa.Integer, nullable=False),
        sa.Column("credit_id", sa.String(80), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("confirmed_booking_id", sa.String(36), nullable=True),
        sa.Column("refunded_cents", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cpt_codes", sa.JSON, nullable=True),
        sa.Column("icd10_codes", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("order_id", "booking_id", name="pk_payments_order_booking"),
        sa.CheckConstraint(_one_of("state", LINE_STATES), name="state"),
    )
    op.create_index(
        "ux_payments_order_booking_active",
        "payments_order_booking",
        ["booking_id"],
        unique=True,
        sqlite_where=LINE_ACTIVE,
        postgresql_where=LINE_ACTIVE,
    )
    op.create_index(
        "ix_payments_order_booking_confirmed", "payments_order_booking", ["confirmed_booking_id"]
    )


def _ledger() -> None:
    op.create_table(
        "payments_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("entry_key", sa.String(160), nullable=False, unique=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("amount_cents", sa.Integer, nullable=False),
        sa.Column("visits", sa.Integer, nullable=False, server_default="0"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("service", sa.String(80), nullable=True),
        sa.Column("line_index", sa.Integer, nullable=True),
        sa.Column("booking_id", sa.String(36), nullable=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("provider_ref", sa.String(64), nullable=True),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.CheckConstraint(_one_of("kind", LEDGER_KINDS), name="kind"),
    )
    op.create_index("ix_payments_ledger_occurred_at", "payments_ledger", ["occurred_at"])
    op.create_index(
        "ix_payments_ledger_provider_ref", "payments_ledger", ["provider", "provider_ref"]
    )
    op.create_index("ix_payments_ledger_order", "payments_ledger", ["order_id"])


def _credits() -> None:
    op.create_table(
        "payments_credit",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("order_id", sa.String(36), sa.ForeignKey("payments_order.id"), nullable=False),
        sa.Column("package", sa.String(64), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("visit_type", sa.String(32), nullable=False),
        sa.Column("granted", sa.Integer, nullable=False),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("remaining >= 0 AND remaining <= granted", name="remaining"),
    )
    op.create_index("ix_payments_credit_patient", "payments_credit", ["patient_id"])
    op.create_table(
        "payments_credit_use",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("credit_id", sa.String(80), sa.ForeignKey("payments_credit.id"), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.CheckConstraint(_one_of("state", CREDIT_USE_STATES), name="state"),
    )
    op.create_index(
        "ux_payments_credit_use_order_booking",
        "payments_credit_use",
        ["order_id", "booking_id"],
        unique=True,
    )
    op.create_table(
        "payments_promo_use",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False, unique=True),
        sa.Column("used_at", UTCDateTime, nullable=False),
    )
    op.create_index(
        "ix_payments_promo_use_code_patient", "payments_promo_use", ["code", "patient_id"]
    )


def _events_and_refunds() -> None:
    op.create_table(
        "payments_webhook_event",
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("raw_type", sa.String(80), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=True),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name="pk_payments_webhook_event"),
    )
    op.create_table(
        "payments_refund",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), sa.ForeignKey("payments_order.id"), nullable=False),
        sa.Column("booking_id", sa.String(36), nullable=True),
        sa.Column("amount_cents", sa.Integer, nullable=False),
        sa.Column("fee_cents", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("provider_refund_id", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(120), nullable=False, unique=True),
        sa.Column("credit_returned", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.CheckConstraint(_one_of("status", REFUND_STATUSES), name="status"),
        sa.CheckConstraint("amount_cents >= 0 AND fee_cents >= 0", name="amounts"),
    )
    op.create_index("ix_payments_refund_order", "payments_refund", ["order_id"])
    op.create_index(
        "ix_payments_refund_provider_refund", "payments_refund", ["provider", "provider_refund_id"]
    )


def downgrade() -> None:
    for index, table in (
        ("ix_payments_refund_provider_refund", "payments_refund"),
        ("ix_payments_refund_order", "payments_refund"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "payments_refund",
        "payments_webhook_event",
        "payments_promo_use",
        "payments_credit_use",
        "payments_credit",
        "payments_ledger",
        "payments_order_booking",
        "payments_order",
    ):
        op.drop_table(table)
