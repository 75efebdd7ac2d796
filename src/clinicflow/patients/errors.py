"""Patient errors, mapped to problem+json by the gateway."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict, InvalidRequest, NotFound


class PatientNotFound(NotFound):
    code = "patient_not_found"


class PatientExists(Conflict):
    code = "patient_exists"


class PatientMerged(Conflict):
    code = "patient_merged"


class InvalidMerge(InvalidRequest):
    code = "invalid_merge"


class MergeConflict(Conflict):
    code = "merge_conflict"
