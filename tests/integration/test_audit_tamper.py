"""Tampering with the audit log, each way an insider with database access could, is caught by
`clinicflow audit verify` (run through the CLI) on SQLite and PostgreSQL.

The chain is keyed (HMAC under the key ring), so re-hashing or appending without the key
fails; checkpoints of the head kept outside the database catch rows cut off the end.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

from clinicflow.cli import app
from clinicflow.infra._audit_chain import GENESIS, row_hash
from clinicflow.infra.audit import (
    AuditEntry,
    audit_checkpoints,
    audit_log,
    audit_pending,
    use_key,
)
from clinicflow.infra.audit_anchor import CheckpointWriter, read
from clinicflow.infra.audit_tables import audit_chain
from clinicflow.infra.crypto import create
from clinicflow.infra.db import Database
from clinicflow.infra.unit_of_work import UnitOfWork

pytestmark = pytest.mark.both_databases

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
ROWS = 10
Tamper = Callable[[AsyncConnection], Any]


@dataclass(frozen=True)
class Clinic:
    url: str
    key: bytes

    def run(self, work: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
        """`work` in one write transaction, on an engine of its own (each asyncio.run is a
        new event loop, and pooled connections must not outlive theirs)."""
        return self._committed(lambda uow: work(uow.connection))

    def audit(self, *entries: tuple[AuditEntry, datetime]) -> None:
        """Each entry (and when) audited in a unit of work of its own, sealed into the chain
        as it commits; one engine for them all (an engine each was a fifth of the CPU of
        `clinic`)."""

        async def each(uow: UnitOfWork, entry: AuditEntry, at: datetime) -> None:
            uow.audit(entry, at)

        self._committed(*(functools.partial(each, entry=e, at=at) for e, at in entries))

    def _committed(self, *works: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
        """Each of `works` in a unit of work of its own, committed in turn: the last's result."""

        async def go() -> Any:
            db = Database(self.url)
            use_key(db, self.key)
            try:
                done = None
                for work in works:
                    async with UnitOfWork(db) as uow:
                        done = await work(uow)
                        await uow.commit()
                return done
            finally:
                await db.dispose()

        return asyncio.run(go())


@pytest.fixture
def clinic(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Clinic:
    """A log of ROWS sealed rows under a fresh key ring, its head checkpointed by the CLI."""
    monkeypatch.setenv("CLINICFLOW_DATABASE_URL", database_url)
    monkeypatch.setenv("CLINICFLOW_KEYS_FILE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("CLINICFLOW_DATA_DIR", str(tmp_path))
    clinic = Clinic(database_url, create(tmp_path / "keys.json").audit_key)
    entries = [
        AuditEntry("user", f"u{n % 3}", "front_desk", "read", "patient", f"p{n}")
        for n in range(1, ROWS + 1)
    ]
    clinic.audit(*((entry, NOW + timedelta(minutes=n)) for n, entry in enumerate(entries, 1)))
    head = _cli("audit", "head")
    assert head.exit_code == 0, head.output
    assert head.stdout.strip().startswith(f"{ROWS}:")
    intact = _cli("audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert f"OK: {ROWS} rows" in intact.output
    return clinic


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


async def _rows(conn: AsyncConnection) -> list[dict[str, Any]]:
    found = await conn.execute(select(audit_log).order_by(audit_log.c.id))
    return [row._asdict() for row in found]


async def edit_a_field(conn: AsyncConnection) -> None:
    await conn.execute(update(audit_log).where(audit_log.c.id == 4).values(resource_id="p99"))


async def delete_a_middle_row(conn: AsyncConnection) -> None:
    await conn.execute(delete(audit_log).where(audit_log.c.id == 5))


async def delete_the_newest_rows(conn: AsyncConnection) -> None:
    await conn.execute(delete(audit_log).where(audit_log.c.id >= ROWS - 2))


async def delete_all(conn: AsyncConnection) -> None:
    await conn.execute(delete(audit_log))


async def append_a_forged_row_with_a_correct_plain_hash(conn: AsyncConnection) -> None:
    head = (await _rows(conn))[-1]
    entry = asdict(AuditEntry("user", "u1", "admin", "read", "patient", "p1"))
    forged = entry | {"at": NOW + timedelta(hours=1), "prev_hash": head["hash"]}
    await conn.execute(
        insert(audit_log).values(forged | {"id": ROWS + 1, "hash": row_hash(forged)})
    )


async def rehash_the_chain_with_plain_sha256(conn: AsyncConnection) -> None:
    # Edit a row, then rebuild every hash and link from the genesis, as the old chain allowed.
    rows = await _rows(conn)
    rows[3]["outcome"] = "denied"
    prev = GENESIS
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = row_hash(row)
    await conn.execute(delete(audit_log))
    await conn.execute(insert(audit_log), rows)


async def reorder_two_rows(conn: AsyncConnection) -> None:
    for old, new in ((3, -3), (4, 3), (-3, 4)):
        await conn.execute(update(audit_log).where(audit_log.c.id == old).values(id=new))


async def raise_keyed_from_and_rehash(conn: AsyncConnection, predating: bool = False) -> None:
    # Every row below keyed_from verifies as plain SHA-256, which anyone can compute.
    await conn.execute(delete(audit_chain))
    values = {"id": 1, "keyed_from": ROWS + 1, "predates_signing": predating}
    await conn.execute(insert(audit_chain).values(values))
    await rehash_the_chain_with_plain_sha256(conn)


async def raise_keyed_from_posing_as_predating_signing(conn: AsyncConnection) -> None:
    await raise_keyed_from_and_rehash(conn, predating=True)


async def forge_a_pruning_checkpoint(conn: AsyncConnection, predating: bool = False) -> None:
    # Hides the deleted oldest rows: the walk would start after them.
    through = (await _rows(conn))[3]
    await conn.execute(
        insert(audit_checkpoints).values(
            through_id=4,
            through_hash=through["hash"],
            rows_pruned=4,
            cutoff=NOW,
            created_at=NOW,
            predates_signing=predating,
        )
    )
    await conn.execute(delete(audit_log).where(audit_log.c.id <= 4))


async def forge_a_pruning_checkpoint_posing_as_predating_signing(conn: AsyncConnection) -> None:
    await conn.execute(update(audit_chain).values(mac=None, predates_signing=True))
    await forge_a_pruning_checkpoint(conn, predating=True)


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (edit_a_field, "row 4: hash does not match its contents"),
        (delete_a_middle_row, "row 6: previous-hash link broken after row 4 (row 5 deleted?)"),
        (delete_the_newest_rows, f"rows 8-{ROWS} missing: a checkpoint kept outside"),
        (delete_all, f"rows 1-{ROWS} missing: a checkpoint kept outside"),
        (append_a_forged_row_with_a_correct_plain_hash, f"row {ROWS + 1}: hash does not match"),
        (rehash_the_chain_with_plain_sha256, "row 1: hash does not match its contents"),
        (reorder_two_rows, "row 3: hash does not match its contents"),
        (raise_keyed_from_and_rehash, f"keyed_from ({ROWS + 1}) is unsigned or its signature"),
        (
            raise_keyed_from_posing_as_predating_signing,
            f"keyed_from is {ROWS + 1} in the database but 1 in a checkpoint kept outside",
        ),
        (forge_a_pruning_checkpoint, "pruning checkpoint 1 (through row 4) is unsigned"),
        (
            forge_a_pruning_checkpoint_posing_as_predating_signing,
            "pruning checkpoint 1 (through row 4) is unsigned",
        ),
    ],
)
def test_audit_verify_catches_every_kind_of_tampering(
    clinic: Clinic, tamper: Tamper, problem: str
) -> None:
    clinic.run(tamper)
    result = _cli("audit", "verify")

    assert result.exit_code == 1, result.output
    assert problem in " ".join(result.output.split())


def test_a_head_given_on_the_command_line_catches_truncation_without_the_file(
    clinic: Clinic, tmp_path: Path
) -> None:
    head = _cli("audit", "head").stdout.strip()
    (tmp_path / "audit-checkpoints.jsonl").unlink()

    clinic.run(lambda conn: conn.execute(delete(audit_log).where(audit_log.c.id == ROWS)))
    blind = _cli("audit", "verify")
    told = _cli("audit", "verify", "--expect-head", head)

    assert blind.exit_code == 0  # nothing outside the database to compare with: said so
    assert "no checkpoint yet" in " ".join(blind.output.split())
    assert told.exit_code == 1
    assert f"rows {ROWS}-{ROWS} missing" in " ".join(told.output.split())


def test_a_forged_checkpoint_line_is_refused(clinic: Clinic, tmp_path: Path) -> None:
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    line = checkpoints.read_text().splitlines()[0].replace(f'"seq":{ROWS}', '"seq":3')
    with checkpoints.open("a") as out:
        out.write(line + "\n")

    result = _cli("audit", "verify")

    assert result.exit_code == 1
    assert "line(s) 2 do not verify" in " ".join(result.output.split())


def test_the_chain_keeps_verifying_through_a_key_rotation(clinic: Clinic) -> None:
    rotated = _cli("keys", "rotate")
    assert rotated.exit_code == 0, rotated.output

    entry = AuditEntry("user", "u1", "admin", "read", "patient", "p1")
    clinic.audit((entry, NOW + timedelta(hours=2)))
    result = _cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"OK: {ROWS + 1} rows" in result.output


def _forged_pending_entry() -> dict[str, Any]:
    # audit_pending.py from the review: a nurse's read of a VIP that never happened.
    entry = AuditEntry("user", "innocent-nurse", "nurse", "read", "patient", "vip")
    return asdict(entry) | {"patient_id": "vip", "at": NOW + timedelta(hours=1)}


def test_an_entry_forged_into_the_pending_table_is_never_sealed(
    clinic: Clinic, caplog: pytest.LogCaptureFixture
) -> None:
    clinic.run(lambda conn: conn.execute(insert(audit_pending).values(_forged_pending_entry())))
    entry = AuditEntry("user", "u1", "admin", "read", "patient", "p1")
    clinic.audit((entry, NOW + timedelta(hours=2)))  # seals after it

    rows = clinic.run(_rows)
    left = clinic.run(lambda conn: _all(conn, audit_pending))
    result = _cli("audit", "verify")

    assert [r["resource_id"] for r in rows] == [*(f"p{n}" for n in range(1, ROWS + 1)), "p1"]
    assert [(r["actor_id"], r["mac"]) for r in left] == [("innocent-nurse", None)]  # evidence
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert f"pending entries {left[0]['id']} in infra_audit_pending were not written" in output
    logged = [r for r in caplog.records if "audit_pending_forged" in r.getMessage()]
    assert logged
    assert f"pending_id={left[0]['id']}" in logged[0].getMessage()
    assert "innocent-nurse" not in caplog.text  # ids only


async def _all(conn: AsyncConnection, table: Any) -> list[dict[str, Any]]:
    return [row._asdict() for row in await conn.execute(select(table))]


def test_state_predating_signing_is_trusted_once_then_signed(
    clinic: Clinic, tmp_path: Path
) -> None:
    """A database upgraded by migration 0017l: its chain row and a pending entry (a process
    died before sealing it) carry no MAC yet. Trusted until the first checkpoint writer
    holding the key signs them; after that, a reset to the unsigned state is tampering."""
    (tmp_path / "audit-checkpoints.jsonl").unlink()  # as before 0017l: no signed line yet
    legacy = _forged_pending_entry() | {"actor_id": "u2", "predates_signing": True}
    unsigned = {"mac": None, "predates_signing": True}

    async def upgraded(conn: AsyncConnection) -> None:
        await conn.execute(update(audit_chain).values(unsigned))
        await conn.execute(insert(audit_pending).values(legacy))

    clinic.run(upgraded)
    before = _cli("audit", "verify")
    head = _cli("audit", "head")  # signs them, then records a line with keyed_from
    entry = AuditEntry("user", "u1", "admin", "read", "patient", "p1")
    clinic.audit((entry, NOW + timedelta(hours=2)))  # seals both
    after = _cli("audit", "verify")
    clinic.run(
        lambda conn: conn.execute(update(audit_chain).values(mac=None, predates_signing=True))
    )
    reset = _cli("audit", "verify")

    assert before.exit_code == 0, before.output
    assert "1 newer entries awaiting their seal" in " ".join(before.output.split())
    assert head.exit_code == 0, head.output
    assert after.exit_code == 0, after.output
    assert f"OK: {ROWS + 2} rows" in after.output
    assert reset.exit_code == 1
    assert "keyed_from (1) is unsigned" in " ".join(reset.output.split())


def test_the_checkpoint_job_signs_older_state_once_and_records_keyed_from(
    clinic: Clinic, tmp_path: Path
) -> None:
    path = tmp_path / "audit-checkpoints.jsonl"
    path.unlink()
    clinic.run(
        lambda conn: conn.execute(update(audit_chain).values(mac=None, predates_signing=True))
    )

    async def job() -> int:
        db = Database(clinic.url)
        use_key(db, clinic.key)
        try:
            return await CheckpointWriter(db, path).run(NOW + timedelta(hours=3))
        finally:
            await db.dispose()

    written = asyncio.run(job())
    chain = clinic.run(lambda conn: _all(conn, audit_chain))

    assert written == 1
    assert read(path, clinic.key).keyed_from == (1,)
    assert [(c["keyed_from"], c["predates_signing"]) for c in chain] == [(1, False)]
    assert chain[0]["mac"] is not None
    assert _cli("audit", "verify").exit_code == 0
