"""Checkpoints of the audit chain's head, kept outside the database.

A chain proves nothing about rows cut off its end, nor about a chain rebuilt by someone who
holds the database and the key. So the head (the newest row's id and hash) is written,
HMACed with the chain's key, to an append-only sink outside the database: a JSON-lines file
(`CLINICFLOW_AUDIT_CHECKPOINT_FILE`, default `<data dir>/audit-checkpoints.jsonl`) and the
process's log (shipped elsewhere by the log pipeline). `audit verify` reads the file back and
checks every checkpoint against the chain: a row it names must still carry that hash, and
no checkpoint may name a row beyond the chain's end.

The `audit_checkpoint` job writes one every minute when the head moved; `clinicflow audit
head` writes one and prints it, for recording elsewhere (a ticket, a backup manifest) and
passing back later as `audit verify --expect-head N:HASH`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from clinicflow.infra._audit_chain import canonical_at
from clinicflow.infra._audit_state import adopt, legacy_open
from clinicflow.infra.audit import audit_log, chain_key, chain_start, keyed_from
from clinicflow.infra.db import Database
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitOfWork
from clinicflow.shared.numerals import is_decimal

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Head:
    seq: int  # the newest sealed row's id (0: nothing chained yet)
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        seq, sep, digest = text.strip().partition(":")
        if not sep or not is_decimal(seq) or len(digest) != 64:
            raise ValueError(f"{text!r} is not a head: give N:HASH (row id, 64 hex digits)")
        return cls(int(seq), digest.lower())


@dataclass(frozen=True, slots=True)
class Checkpoints:
    """What the checkpoint file holds: good checkpoints, and lines that failed their check."""

    heads: tuple[Head, ...] = ()
    bad_lines: tuple[int, ...] = ()  # 1-based line numbers: forged or damaged
    keyed_from: tuple[int, ...] = ()  # as the signed lines recorded it (older lines lack it)

    def anchors(self) -> dict[int, str]:
        return {h.seq: h.hash for h in self.heads}


@dataclass(slots=True)
class CheckpointWriter:
    """The `audit_checkpoint` job: writes the head when it moved since this process's last."""

    db: Database
    path: Path
    _last: Head | None = field(default=None, init=False)

    async def run(self, now: datetime) -> int:
        async with self.db.read() as conn:
            key = chain_key(conn)
            legacy = await legacy_open(conn)
        if legacy:  # once after migration 0017l: a write transaction only then
            async with UnitOfWork(self.db) as uow:
                await adopt_once(uow.connection, key, self.path)
                await uow.commit()
        async with self.db.read() as conn:
            head = await current_head(conn)
            since = await keyed_from(conn)
        if head.seq == 0 or head == self._last:
            return 0
        at = write(self.path, key, head, now, since)
        # The log pipeline is a second sink that whoever holds the database does not control.
        log.info("audit_checkpoint", seq=head.seq, hash=head.hash, at=at)
        self._last = head
        return 1


async def adopt_once(conn: AsyncConnection, key: bytes, path: Path) -> int:
    """Sign the rows that predate signing (migration 0017l), once: only while no checkpoint
    in `path` recorded a signed state, so a chain row reset to its unsigned state later is
    reported, not trusted again (trust on first use, docs/architecture.md)."""
    if not await legacy_open(conn):
        return 0
    if read(path, key).keyed_from:
        log.error("audit_state_reset", checkpoint_file=str(path))
        return 0
    return await adopt(conn, key)


async def current_head(conn: AsyncConnection) -> Head:
    newest = (
        await conn.execute(
            select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
        )
    ).first()
    if newest is not None:
        return Head(int(newest.id), str(newest.hash))
    return Head(*await chain_start(conn))  # everything pruned: the pruning checkpoint


def sign(key: bytes, head: Head, at: str, keyed_from: int | None = None) -> str:
    message = f"clinicflow audit checkpoint\x00{head.seq}\x00{head.hash}\x00{at}"
    if keyed_from is not None:  # lines written before 0017l lack it and still verify
        message += f"\x00keyed_from:{keyed_from}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def write(path: Path, key: bytes, head: Head, now: datetime, keyed_from: int | None = None) -> str:
    """Append one signed checkpoint (with the chain's signed `keyed_from`, when it checks, so
    a later raise shows); its time as written."""
    at = canonical_at(now)
    line: dict[str, object] = {"seq": head.seq, "hash": head.hash, "at": at}
    if keyed_from is not None:
        line["keyed_from"] = keyed_from
    line["mac"] = sign(key, head, at, keyed_from)
    text = json.dumps(line, separators=(",", ":")) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _appending(path) as fd:
        os.write(fd, text.encode())
        os.fsync(fd)
    return at


@contextlib.contextmanager
def _appending(path: Path) -> Iterator[int]:
    # O_APPEND plus a lock: lines from several processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def read(path: Path, key: bytes) -> Checkpoints:
    """Every checkpoint whose HMAC checks; a missing file holds none."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return Checkpoints()
    heads: list[Head] = []
    bad: list[int] = []
    since: list[int] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            head = Head(int(data["seq"]), str(data["hash"]))
            kf = int(data["keyed_from"]) if "keyed_from" in data else None
            mac = sign(key, head, str(data["at"]), kf)
            good = hmac.compare_digest(mac, str(data["mac"]))
        except (ValueError, KeyError, TypeError):
            good, kf = False, None
        if good:
            heads.append(head)
            since += [kf] if kf is not None else []
        else:
            bad.append(number)
    return Checkpoints(tuple(heads), tuple(bad), tuple(since))
