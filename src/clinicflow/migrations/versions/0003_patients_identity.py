"""Patients (demographics, contact preferences, referrals, visits, enrollments, merges),
identity (users, sessions, one-time links, API keys, signing keys), audit checkpoints, and
idempotency keys scoped per client.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clinicflow.infra.db import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_PATIENT_COLUMNS = (
    ("birth_date_enc", sa.Text),
    ("address_enc", sa.Text),
    ("notes_enc", sa.Text),
    ("sex", sa.String(16)),
    ("pronouns", sa.String(32)),
    ("referral_source", sa.String(16)),
    ("referred_by_patient_id", sa.String(36)),
    ("referred_by_practitioner", sa.String(64)),
    ("referral_campaign", sa.String(64)),
    ("merged_into", sa.String(36)),
    ("deidentified_at", UTCDateTime),
)


def upgrade() -> None:
    _patients()
    _identity()
    op.create_table(
        "infra_audit_checkpoint",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("through_id", sa.Integer, nullable=False),
        sa.Column("through_hash", sa.String(64), nullable=False),
        sa.Column("rows_pruned", sa.Integer, nullable=False),
        sa.Column("cutoff", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    _scope_idempotency_keys()


def _patients() -> None:
    with op.batch_alter_table("patients_patient") as batch:
        batch.alter_column("first_name_enc", existing_type=sa.Text, nullable=True)
        batch.alter_column("last_name_enc", existing_type=sa.Text, nullable=True)
        for name, type_ in NEW_PATIENT_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.add_column(sa.Column("contact_prefs", sa.JSON, nullable=False, server_default="{}"))
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="active")
        )
        batch.add_column(
            sa.Column("legal_hold", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.create_index(
        "ix_patients_patient_referred_by_patient_id",
        "patients_patient",
        ["referred_by_patient_id"],
    )
    op.create_table(
        "patients_visit",
        sa.Column("booking_id", sa.String(36), primary_key=True),
        sa.Column(
            "patient_id", sa.String(36), sa.ForeignKey("patients_patient.id"), nullable=False
        ),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("visit_type", sa.String(32), nullable=False),
        sa.Column("practitioner", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_at", UTCDateTime, nullable=False),
        sa.Column("end_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_patients_visit_patient_start", "patients_visit", ["patient_id", "start_at"])
    op.create_index(
        "ix_patients_visit_practitioner_patient", "patients_visit", ["practitioner", "patient_id"]
    )
    # Bookings made before this revision become visit history.
    op.execute(
        "INSERT INTO patients_visit (booking_id, patient_id, service, visit_type, practitioner,"
        " status, start_at, end_at, updated_at) SELECT id, patient_id, service, visit_type,"
        " practitioner, status, start_at, end_at, updated_at FROM booking_appointment"
        " WHERE patient_id IS NOT NULL"
    )
    op.create_table(
        "patients_enrollment",
        sa.Column(
            "patient_id", sa.String(36), sa.ForeignKey("patients_patient.id"), primary_key=True
        ),
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("since", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.execute(
        "INSERT INTO patients_enrollment (patient_id, service, since, status, updated_at)"
        " SELECT patient_id, service, MIN(created_at), 'active', MAX(updated_at)"
        " FROM booking_appointment WHERE patient_id IS NOT NULL"
        " AND status IN ('confirmed', 'checked_in', 'completed', 'no_show')"
        " GROUP BY patient_id, service"
    )
    op.create_table(
        "patients_merge",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("source_id", sa.String(36), nullable=False),
        sa.Column("target_id", sa.String(36), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("moved", sa.JSON, nullable=False),
        sa.Column("merged_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_patients_merge_source_id", "patients_merge", ["source_id"])


def _identity() -> None:
    op.create_table(
        "identity_user",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("practitioner", sa.String(64), nullable=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("totp_secret_enc", sa.Text, nullable=True),
        sa.Column("totp_confirmed_at", UTCDateTime, nullable=True),
        sa.Column("totp_last_step", sa.Integer, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", UTCDateTime, nullable=True),
        sa.Column("last_login_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "identity_session",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("identity_user.id"), nullable=True),
        sa.Column("patient_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_identity_session_user_id", "identity_session", ["user_id"])
    op.create_table(
        "identity_login_link",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "identity_api_key",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_used_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("replaced_by", sa.String(32), nullable=True),
    )
    op.create_table(
        "identity_signing_key",
        sa.Column("kid", sa.String(32), primary_key=True),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("private_key_enc", sa.Text, nullable=False),
        sa.Column("public_jwk", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("retired_at", UTCDateTime, nullable=True),
    )


def _scope_idempotency_keys() -> None:
    # A key is unique per client: two clients choosing the same key never see each other's
    # booking. Existing keys were all anonymous.
    client_id = sa.Column("client_id", sa.String(64), nullable=False, server_default="anonymous")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot change a primary key in place; batch mode rebuilds the table.
        # SQLAlchemy warns that the rebuilt table's primary key differs from the old one's:
        # that difference is the point of this step.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*primary_key=True, not matching")
            with op.batch_alter_table("booking_idempotency_key", recreate="always") as batch:
                batch.add_column(client_id)
                batch.create_primary_key("pk_booking_idempotency_key", ["client_id", "key"])
        return
    op.add_column("booking_idempotency_key", client_id)
    op.drop_constraint("pk_booking_idempotency_key", "booking_idempotency_key", type_="primary")
    op.create_primary_key(
        "pk_booking_idempotency_key", "booking_idempotency_key", ["client_id", "key"]
    )


def downgrade() -> None:
    op.drop_table("infra_audit_checkpoint")
    for table in (
        "identity_signing_key",
        "identity_api_key",
        "identity_login_link",
        "identity_session",
        "identity_user",
        "patients_merge",
        "patients_enrollment",
        "patients_visit",
    ):
        op.drop_table(table)
    op.drop_index("ix_patients_patient_referred_by_patient_id", "patients_patient")
    with op.batch_alter_table("patients_patient") as batch:
        for name in (
            *(n for n, _ in NEW_PATIENT_COLUMNS),
            "contact_prefs",
            "status",
            "legal_hold",
            "version",
        ):
            batch.drop_column(name)
