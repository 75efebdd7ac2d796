"""Tampering with the audit log, each way an insider with database access could, is caught by
`clinicflow audit verify` (run through the CLI) on SQLite and PostgreSQL.

The chain is keyed (HMAC under the key ring), so re-hashing or appending without the key
fails; checkpoints of the head kept outside the database catch rows cut off the end.
"""

from __future__ import annotations

import asyncio
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
from clinicflow.infra.audit import AuditEntry, append, audit_log, use_key
from clinicflow.infra.crypto import create
from clinicflow.infra.db import Database

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

        async def go() -> Any:
            db = Database(self.url)
            use_key(db, self.key)
            try:
                async with db.write() as conn:
                    return await work(conn)
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
    for n in range(1, ROWS + 1):
        entry = AuditEntry("user", f"u{n % 3}", "front_desk", "read", "patient", f"p{n}")
        clinic.run(lambda conn, e=entry, n=n: append(conn, e, NOW + timedelta(minutes=n)))
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
    clinic.run(lambda conn: append(conn, entry, NOW + timedelta(hours=2)))
    result = _cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"OK: {ROWS + 1} rows" in result.output
