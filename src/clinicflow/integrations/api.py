"""The EHR's webhook, and the conflicts the EHR sync lists for staff.

The webhook carries no credentials of ours (gateway/auth.py lets `ROUTES` through): the
adapter checks MediRecords' API key on it, and its body is only a trigger, since the sync
reads each patient from MediRecords' API itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.integrations.errors import ConflictNotFound, EhrNoticeRefused, EhrWebhooksOff
from clinicflow.integrations.schemas import ConflictOut, ResolvedOut, WebhookTakenOut
from clinicflow.integrations.service import ConflictDesk, EhrWebhookIntake
from clinicflow.shared.errors import InvalidRequest

MEDIRECORDS = "/v1/webhooks/medirecords"
ROUTES = frozenset({MEDIRECORDS})
BODY_LIMITS = {MEDIRECORDS: 1024 * 1024}  # a Bundle with the focal resource and its references

router = APIRouter(tags=["integrations"])
IntakeDep = Annotated[EhrWebhookIntake, Depends(provided(EhrWebhookIntake))]
DeskDep = Annotated[ConflictDesk, Depends(provided(ConflictDesk))]
ConflictId = Annotated[str, Path(min_length=1, max_length=36)]


@router.post(
    MEDIRECORDS,
    **documented(
        "receiveMediRecordsWebhook",
        "MediRecords: a patient was created or changed there",
        EhrNoticeRefused,
        EhrWebhooksOff,
        InvalidRequest,
        status_code=202,
    ),
)
async def medirecords_webhook(intake: IntakeDep, request: Request) -> WebhookTakenOut:
    queued = await intake.receive(request.headers.get("authorization"), await request.body())
    return WebhookTakenOut(queued=queued)


@router.get(
    "/v1/integrations/ehr/conflicts",
    **documented(
        "listEhrConflicts",
        "Patients changed both here and in the EHR since the last sync, for staff to settle",
        *SIGNED_IN,
    ),
)
async def list_conflicts(
    desk: DeskDep,
    actor: CurrentActor,
    open_only: Annotated[bool, Query(alias="open")] = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ConflictOut]:
    found = await desk.list(actor, open_only=open_only, limit=limit)
    return [ConflictOut.of(c) for c in found]


@router.post(
    "/v1/integrations/ehr/conflicts/{conflict_id}/resolve",
    **documented(
        "resolveEhrConflict",
        "Mark a conflict settled once both records were put right by hand",
        *SIGNED_IN,
        ConflictNotFound,
    ),
)
async def resolve_conflict(
    desk: DeskDep, actor: CurrentActor, conflict_id: ConflictId
) -> ResolvedOut:
    patient_id = await desk.resolve(actor, conflict_id)
    return ResolvedOut(id=conflict_id, patient_id=patient_id)
