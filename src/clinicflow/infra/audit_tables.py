"""The audit log's tables: the hash chain, the rows waiting to join it, and the pruning
checkpoints. `infra.audit` explains how they work together."""

from __future__ import annotations

from typing import Literal, get_args

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)

from clinicflow.infra.columns import check_one_of, instant
from clinicflow.infra.db import UTCDateTime, metadata

ActorType = Literal["user", "client", "patient", "anonymous", "system"]
Outcome = Literal["allowed", "denied", "error"]
ACTOR_TYPES: tuple[str, ...] = get_args(ActorType)
OUTCOMES: tuple[str, ...] = get_args(Outcome)


def _predates() -> list[Column[object]]:
    """True only on rows that existed when migration 0017l added the MACs (migrations hold no
    key): trusted once, then signed by the first process holding the key (`audit.adopt`)."""
    return [Column("predates_signing", Boolean, nullable=False, server_default=false())]


def _entry_columns() -> list[Column[object]]:
    """What an entry says (ids only, never PHI values): the same in both tables."""
    return [
        Column("at", UTCDateTime, nullable=False),
        Column("actor_type", String(16), nullable=False),
        Column("actor_id", String(64), nullable=False),
        Column("role", String(32), nullable=False),
        Column("action", String(32), nullable=False),
        Column("resource_type", String(64), nullable=False),
        Column("resource_id", String(64), nullable=False),
        Column("patient_id", String(36), nullable=True),
        Column("source_ip", String(45), nullable=True),  # the longest IPv6 text form
        Column("request_id", String(64), nullable=True),
        Column("outcome", String(16), nullable=False),
        Column("reason", Text, nullable=True),
        Column("break_glass", Boolean, nullable=False),
    ]


audit_log = Table(
    "infra_audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # the chain order
    *_entry_columns(),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    check_one_of("actor_type", ACTOR_TYPES),
    check_one_of("outcome", OUTCOMES),
    Index("ix_infra_audit_log_patient_at", "patient_id", "at"),
    Index("ix_infra_audit_log_actor_at", "actor_id", "at"),
)

# Entries committed with the change they record, waiting to be sealed into the chain (right
# after their commit, by `audit.seal`). Their id is only the order they are sealed in.
audit_pending = Table(
    "infra_audit_pending",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_entry_columns(),
    # HMAC under the chain key (`_audit_chain.pending_mac`): a row without a matching one was
    # not written by `audit.append` and is never sealed (see `_predates`).
    Column("mac", String(64), nullable=True),
    *_predates(),
)

# Written when retention prunes the oldest rows: verification resumes from the last pruned
# row's id and hash, so a pruned log still proves nothing after the cut was touched.
audit_checkpoints = Table(
    "infra_audit_checkpoint",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("through_id", Integer, nullable=False),
    Column("through_hash", String(64), nullable=False),
    Column("rows_pruned", Integer, nullable=False),
    instant("cutoff"),
    instant("created_at"),
    Column("mac", String(64), nullable=True),  # `_audit_chain.checkpoint_mac`
    *_predates(),
)

# One row: the first id chained with HMAC (`infra._audit_chain`). Rows below it were written
# before the keyed chain and keep their plain hashes; a fresh database starts keyed at 1.
audit_chain = Table(
    "infra_audit_chain",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("keyed_from", Integer, nullable=False),
    Column("mac", String(64), nullable=True),  # `_audit_chain.keyed_from_mac`
    *_predates(),
)
