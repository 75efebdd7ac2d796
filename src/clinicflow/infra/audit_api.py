"""GET /v1/audit: the audit log for administrators (and clients holding audit:read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from clinicflow.infra.audit import AuditRecord, search
from clinicflow.infra.audit_records import AuditRow
from clinicflow.infra.db import Database
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.request_input import LARGEST_STORED_INT, Instant
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.shared.actor import Role, Scope, require
from clinicflow.shared.records import from_attributes

router = APIRouter(tags=["audit"])
DatabaseDep = Annotated[Database, Depends(provided(Database))]


class AuditRowOut(AuditRow):
    pass  # the row itself, under its name in the API


class AuditPage(BaseModel):
    entries: list[AuditRowOut]
    next_before_id: int | None


@router.get("/v1/audit", **documented("searchAudit", "Search the audit log", *SIGNED_IN))
async def audit(
    db: DatabaseDep,
    actor: CurrentActor,
    patient_id: Annotated[str | None, Query(max_length=36)] = None,
    actor_id: Annotated[str | None, Query(max_length=64)] = None,
    resource_type: Annotated[str | None, Query(max_length=64)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    break_glass: bool | None = None,
    outcome: Annotated[str | None, Query(pattern="^(allowed|denied|error)$")] = None,
    before_id: Annotated[int | None, Query(gt=0, le=LARGEST_STORED_INT)] = None,
    limit: Annotated[int, Query(gt=0, le=1000)] = 100,
) -> AuditPage:
    """Newest first. Page backwards with `before_id=next_before_id`. `break_glass=true`
    lists the out-of-scope openings that wait for review."""
    allowed = actor.role is Role.ADMIN or actor.has_scope(Scope.AUDIT_READ)
    require(actor, allowed, "only administrators read the audit log")
    async with db.read() as conn:
        rows: list[AuditRecord] = await search(
            conn,
            patient_id=patient_id,
            actor_id=actor_id,
            resource_type=resource_type,
            since=since,
            until=until,
            break_glass=break_glass,
            outcome=outcome,
            before_id=before_id,
            limit=limit,
        )
    entries = [from_attributes(AuditRowOut, r) for r in rows]
    more = len(rows) == limit and rows
    return AuditPage(entries=entries, next_before_id=rows[-1].id if more else None)
