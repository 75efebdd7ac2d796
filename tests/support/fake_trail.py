"""The audit trail without a database, for use-case tests: `infra.audit_trail.AuditTrail`
whose own-transaction records (reads, and refusals a rolled-back request must still leave)
are kept in `rows` instead of written. Its checks (`require_role`, `denying`) are the real
ones, so a fake records exactly what the real trail would."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from clinicflow.infra.audit import Outcome
from clinicflow.infra.audit_trail import Access, AuditTrail
from clinicflow.shared.actor import Actor


class Recorded(NamedTuple):
    actor_id: str
    action: str
    access: Access
    outcome: Outcome
    break_glass: bool


class FakeTrail(AuditTrail):
    def __init__(self) -> None:  # no database: nothing is written
        self.rows: list[Recorded] = []

    async def record_alone(
        self,
        actor: Actor,
        action: str,
        accesses: Iterable[Access],
        *,
        outcome: Outcome = "allowed",
        break_glass: bool = False,
    ) -> None:
        self.rows += [Recorded(actor.id, action, a, outcome, break_glass) for a in accesses]

    @property
    def read(self) -> list[tuple[str, str, Access]]:
        """(actor id, action, access) of the allowed rows, in order."""
        return self._of("allowed")

    @property
    def denied(self) -> list[tuple[str, str, Access]]:
        """(actor id, action, access) of the refusals, in order."""
        return self._of("denied")

    def _of(self, outcome: Outcome) -> list[tuple[str, str, Access]]:
        return [(r.actor_id, r.action, r.access) for r in self.rows if r.outcome == outcome]
