"""The audit log's hash chain: canonical form, row hashes, and the walk that checks them.

Pure (no database), so the rules are readable in one place and testable on plain dicts.

Rows are chained with HMAC-SHA256 under a key from the key ring, over their id and every
column: without the key nobody can re-hash an edited chain or append a row that verifies.
Rows written before the keyed chain (ids below `keyed_from`, recorded by migration 0015c)
keep their plain SHA-256 hashes and verify as such. Checkpoints of the head kept outside the
database (`infra.audit_anchor`) are compared during the walk, so rows cut off the end, or a
chain rebuilt from some row on, show too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# Every column except id and hash, prev_hash included: changing any of them changes the hash.
HASHED_FIELDS = (
    "at",
    "actor_type",
    "actor_id",
    "role",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "source_ip",
    "request_id",
    "outcome",
    "reason",
    "break_glass",
    "prev_hash",
)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """`checked` counts the rows that verified before the first bad one (all of them if ok).

    `head_hash` is the last good row's hash: recording it elsewhere (a ticket, a backup
    manifest) is what lets a later check notice rows cut off the end of the log.
    """

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None
    head_hash: str | None = None
    # The last row retention pruned, when the walk started from a checkpoint.
    pruned_through: int | None = None
    # Entries committed but not yet sealed into the chain (see `infra.audit`): not checked.
    pending: int = 0


def canonical_at(at: datetime) -> str:
    # Fixed microsecond precision: both databases keep microseconds, so this round-trips.
    if at.tzinfo is None:
        raise ValueError("audit times must be aware datetimes")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(fields: Mapping[str, Any], extra: Mapping[str, Any]) -> bytes:
    payload = {name: fields[name] for name in HASHED_FIELDS} | dict(extra)
    payload["at"] = canonical_at(fields["at"])
    # SQLite hands booleans back as 0/1 on some paths; the hash must not depend on that.
    payload["break_glass"] = bool(payload["break_glass"])
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii")


def row_hash(fields: Mapping[str, Any]) -> str:
    """The plain SHA-256 of rows written before the keyed chain (anyone can compute it)."""
    return hashlib.sha256(_canonical(fields, {})).hexdigest()


def row_mac(key: bytes, row_id: int, fields: Mapping[str, Any]) -> str:
    """A keyed row hash: its id is covered too, so rows cannot trade places."""
    return hmac.new(key, _canonical(fields, {"id": row_id}), hashlib.sha256).hexdigest()


def pending_mac(key: bytes, fields: Mapping[str, Any]) -> str:
    """An entry waiting in `infra_audit_pending`: only a holder of the key could have written
    it, so a row inserted there by hand is not sealed into the chain with a valid HMAC."""
    payload = _canonical({**fields, "prev_hash": ""}, {"kind": "pending"})
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def keyed_from_mac(key: bytes, keyed_from: int) -> str:
    """`infra_audit_chain.keyed_from`: raising it would turn rows back into plain SHA-256."""
    return hmac.new(key, f"keyed_from:{keyed_from}".encode(), hashlib.sha256).hexdigest()


def checkpoint_mac(
    key: bytes, through_id: int, through_hash: str, rows_pruned: int, cutoff: datetime
) -> str:
    """A pruning checkpoint: a forged one would hide deleted oldest rows."""
    message = f"checkpoint\x00{through_id}\x00{through_hash}\x00{rows_pruned}\x00"
    message += canonical_at(cutoff)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def mac_matches(expected: str, found: str | None) -> bool:
    return found is not None and hmac.compare_digest(expected, found)


class ChainWalker:
    """Fed rows in id order; stops at the first row that breaks the chain.

    After pruning, the walk starts from the checkpoint instead of the genesis: the pruned
    rows' last id and hash stand in for the rows themselves.
    """

    def __init__(
        self,
        key: bytes,
        start_id: int = 0,
        start_hash: str = GENESIS,
        *,
        keyed_from: int = 1,
        anchors: Mapping[int, str] | None = None,
    ) -> None:
        self.key = key
        self.keyed_from = keyed_from
        # Row id -> hash recorded outside the database (checkpoints, --expect-head).
        self.anchors = dict(anchors or {})
        self.start_id = start_id
        self.start_hash = start_hash
        self.last_id = start_id
        self.last_hash = start_hash
        self.checked = 0
        self.problem: str | None = None
        self.bad_id: int | None = None

    def feed(self, row: Mapping[str, Any]) -> bool:
        """Check one row; False (with `problem` set) once the chain is broken."""
        row_id: int = row["id"]
        problem = self._problem(row_id, row)
        if problem is not None:
            self.problem, self.bad_id = problem, row_id
            return False
        self.last_id, self.last_hash = row_id, row["hash"]
        self.checked += 1
        return True

    def finish(self) -> VerifyResult:
        """The result once every row was fed: the anchors beyond the last row name a cut."""
        anchored = self.anchors.get(self.start_id) if self.start_id else None
        if self.problem is None and anchored is not None and anchored != self.start_hash:
            self.problem = (
                f"the pruning checkpoint (row {self.start_id}) differs from the checkpoint kept "
                "outside the database (rewritten?)"
            )
            self.bad_id = self.start_id
        if self.problem is None:
            self.problem = self._cut_off()
            if self.problem is not None:
                self.bad_id = self.last_id + 1
        return self.result()

    def _cut_off(self) -> str | None:
        beyond = [i for i in self.anchors if i > self.last_id]
        if beyond:
            newest = max(beyond)
            return (
                f"rows {self.last_id + 1}-{newest} missing: a checkpoint kept outside the "
                f"database names row {newest} (newest rows deleted?)"
            )
        if self.last_id < self.keyed_from - 1:
            return (
                f"rows {self.last_id + 1}-{self.keyed_from - 1} missing: the log held them "
                "when the keyed chain began (deleted?)"
            )
        return None

    def result(self) -> VerifyResult:
        head = self.last_hash if self.checked or self.start_id else None
        pruned = self.start_id or None
        ok = self.problem is None
        return VerifyResult(ok, self.checked, self.bad_id, self.problem, head, pruned)

    def _problem(self, row_id: int, row: Mapping[str, Any]) -> str | None:
        keyed = row_id >= self.keyed_from
        expected = row_mac(self.key, row_id, row) if keyed else row_hash(row)
        if not hmac.compare_digest(expected, row["hash"]):
            return f"row {row_id}: hash does not match its contents (edited?)"
        anchored = self.anchors.get(row_id)
        if anchored is not None and anchored != row["hash"]:
            return (
                f"row {row_id}: differs from the checkpoint kept outside the database "
                "(chain rewritten?)"
            )
        if row_id <= self.last_id:  # only possible for the first row after a checkpoint
            return (
                f"row {row_id}: lies within the pruned range (through row {self.start_id}); "
                "restored or inserted after pruning?"
            )
        linked = row["prev_hash"] == self.last_hash
        gap = row_id != self.last_id + 1
        if linked and not gap:
            return None
        missing = _missing(self.last_id, row_id)
        where = self._where()
        if not linked and gap:
            return f"row {row_id}: previous-hash link broken {where} ({missing} deleted?)"
        if not linked:
            return f"row {row_id}: previous-hash link broken {where} ({self._rewritten()}?)"
        # The link holds across a gap only if every later row was re-hashed: a rewrite.
        return f"row {row_id}: ids jump {where} ({missing} missing; chain rewritten?)"

    def _rewritten(self) -> str:
        if self.last_id == 0:
            return "rewritten"
        if self.last_id == self.start_id:  # the pruned row is gone; only these two remain
            return "this row or the checkpoint rewritten"
        return f"row {self.last_id} rewritten"

    def _where(self) -> str:
        if self.last_id == 0:
            return "at the start of the log"
        if self.last_id == self.start_id:
            return f"after the pruning checkpoint (row {self.last_id})"
        return f"after row {self.last_id}"


def _missing(last_id: int, row_id: int) -> str:
    first, last = last_id + 1, row_id - 1
    return f"row {first}" if first == last else f"rows {first}-{last}"
