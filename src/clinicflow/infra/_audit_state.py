"""The audit chain's own state, signed like its rows: `keyed_from`, the pruning checkpoints
and the entries waiting to be sealed each carry an HMAC under the chain key, so someone who
can write the database but lacks the key can neither raise `keyed_from` (turning rows back
into plain SHA-256), forge a checkpoint (hiding deleted oldest rows), nor slip an entry into
`infra_audit_pending` for the sealer to chain with a valid HMAC.

Rows that existed when migration 0017l added the MACs are marked `predates_signing` (a
migration holds no key). They are trusted while the chain row itself is still in that state
and no checkpoint kept outside the database says signing had begun; the first checkpoint
writer holding the key signs them all once (`adopt`, from `infra.audit_anchor`): trust on
first use, docs/architecture.md. The sealer never chains an unsigned pending entry.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra._audit_chain import (
    GENESIS,
    checkpoint_mac,
    keyed_from_mac,
    mac_matches,
    pending_mac,
)
from clinicflow.infra.audit_tables import audit_chain, audit_checkpoints, audit_pending
from clinicflow.infra.logging import get_logger

log = get_logger(__name__)
_NOT_ENTRY = ("id", "mac", "predates_signing")


@dataclass(frozen=True, slots=True)
class ChainState:
    start_id: int  # the newest genuine pruning checkpoint (0: the genesis)
    start_hash: str
    keyed_from: int
    keyed_from_signed: bool
    problems: tuple[str, ...] = ()


def entry_fields(row: Row[Any]) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k in audit_pending.c and k not in _NOT_ENTRY}


async def legacy_open(conn: AsyncConnection) -> bool:
    """Whether rows predating signing are still trusted: the chain row was never signed."""
    row = (await conn.execute(select(audit_chain).limit(1))).first()
    return row is not None and bool(row.predates_signing) and row.mac is None


def _trusted(row: Row[Any], expected: str, legacy: bool) -> bool:
    if mac_matches(expected, row.mac):
        return True
    return legacy and bool(row.predates_signing) and row.mac is None


async def read_state(
    conn: AsyncConnection, key: bytes, *, legacy_allowed: bool = True
) -> ChainState:
    """`legacy_allowed`: False once a checkpoint outside the database recorded a signed
    state, so rows reset to `predates_signing` are not trusted again."""
    legacy = legacy_allowed and await legacy_open(conn)
    problems: list[str] = []
    chain = (await conn.execute(select(audit_chain).limit(1))).first()
    keyed_from, signed = 1, True
    if chain is not None:
        keyed_from = int(chain.keyed_from)
        signed = _trusted(chain, keyed_from_mac(key, keyed_from), legacy)
        if not signed:
            problems.append(
                f"infra_audit_chain.keyed_from ({keyed_from}) is unsigned or its signature "
                "does not match (raised to turn rows back into plain hashes?)"
            )
    checkpoints = (
        await conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.id.desc()))
    ).all()
    start: tuple[int, str] | None = None
    for cp in checkpoints:
        expected = checkpoint_mac(key, cp.through_id, cp.through_hash, cp.rows_pruned, cp.cutoff)
        if _trusted(cp, expected, legacy):
            start = start or (int(cp.through_id), str(cp.through_hash))
        else:
            problems.append(
                f"pruning checkpoint {cp.id} (through row {cp.through_id}) is unsigned or its "
                "signature does not match (forged to hide deleted rows?)"
            )
    start_id, start_hash = start or (0, GENESIS)
    return ChainState(start_id, start_hash, keyed_from, signed, tuple(problems))


async def forged_pending(
    conn: AsyncConnection, key: bytes, *, legacy_allowed: bool = True
) -> list[int]:
    """Ids of waiting entries that `audit.append` did not write (their MAC does not match)."""
    legacy = legacy_allowed and await legacy_open(conn)
    rows = (await conn.execute(select(audit_pending).order_by(audit_pending.c.id))).all()
    return [r.id for r in rows if not _trusted(r, pending_mac(key, entry_fields(r)), legacy)]


async def checked_state(
    conn: AsyncConnection, key: bytes, recorded_keyed_from: Collection[int]
) -> ChainState:
    """The state with every problem `audit verify` reports about it: unsigned or mis-signed
    rows, a `keyed_from` that differs from the checkpoints kept outside the database, and
    forged waiting entries. A signed checkpoint line ends the trust in predating rows."""
    signed_before = bool(recorded_keyed_from)
    state = await read_state(conn, key, legacy_allowed=not signed_before)
    problems = list(state.problems)
    problems += [
        f"keyed_from is {state.keyed_from} in the database but {n} in a checkpoint kept "
        "outside the database (raised to turn rows back into plain hashes?)"
        for n in sorted(set(recorded_keyed_from))
        if n != state.keyed_from
    ]
    forged = await forged_pending(conn, key, legacy_allowed=not signed_before)
    if forged:
        problems.append(
            f"pending entries {', '.join(map(str, forged))} in infra_audit_pending were not "
            "written by the application (their MAC does not match: forged?)"
        )
    return replace(state, problems=tuple(problems))


async def adopt(conn: AsyncConnection, key: bytes) -> int:
    """Sign, once, the rows that predate signing (in the caller's write transaction)."""
    if not await legacy_open(conn):
        return 0
    signed = 0
    old = audit_pending.c.predates_signing.is_(True) & audit_pending.c.mac.is_(None)
    for row in (await conn.execute(select(audit_pending).where(old))).all():
        mac = pending_mac(key, entry_fields(row))
        await _sign(conn, audit_pending, row.id, mac)
        signed += 1
    cps = audit_checkpoints.c
    old = cps.predates_signing.is_(True) & cps.mac.is_(None)
    for cp in (await conn.execute(select(audit_checkpoints).where(old))).all():
        mac = checkpoint_mac(key, cp.through_id, cp.through_hash, cp.rows_pruned, cp.cutoff)
        await _sign(conn, audit_checkpoints, cp.id, mac)
        signed += 1
    for chain in (await conn.execute(select(audit_chain))).all():
        await _sign(conn, audit_chain, chain.id, keyed_from_mac(key, int(chain.keyed_from)))
    log.warning("audit_state_adopted", rows_signed=signed)
    return signed


async def _sign(conn: AsyncConnection, table: Table, row_id: int, mac: str) -> None:
    await conn.execute(
        update(table).where(table.c.id == row_id).values(mac=mac, predates_signing=False)
    )
