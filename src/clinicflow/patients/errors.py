"""Patient errors, mapped to problem+json by the gateway."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict, InvalidRequest, NotFound


class PatientNotFound(NotFound, code="patient_not_found"): ...


class PatientExists(Conflict, code="patient_exists"): ...


class PatientMerged(Conflict, code="patient_merged"): ...


class InvalidMerge(InvalidRequest, code="invalid_merge"): ...


class MergeConflict(Conflict, code="merge_conflict"): ...


def email_taken(existing: str | None = None) -> PatientExists:
    extra = {"patient_id": existing} if existing else {}
    return PatientExists(
        "another patient record already has this email; update that record, or merge "
        "the two with POST /v1/patients/{id}/merge",
        **extra,
    )
