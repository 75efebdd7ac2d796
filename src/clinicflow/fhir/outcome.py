"""Errors on the FHIR API are OperationOutcome resources, never problem+json: the gateway's
one error renderer (`gateway/problems.problem`) hands any answer under `/fhir/R4` here."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from clinicflow.fhir import BASE

FHIR_JSON = "application/fhir+json"
# HTTP status → the OperationOutcome issue type (hl7.org/fhir/R4/valueset-issue-type.html).
ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    503: "transient",
}


def is_fhir(path: str) -> bool:
    return path == BASE or path.startswith(BASE + "/")


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def operation_outcome(status: int, code: str, detail: str) -> dict[str, object]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status < 500 or status == 503 else "fatal",
                "code": ISSUE_TYPES.get(status, "exception"),
                "details": {
                    "coding": [{"system": "https://clinicflow.dev/problems", "code": code}],
                    "text": detail,
                },
                "diagnostics": detail,
            }
        ],
    }


def outcome_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> FhirResponse:
    return FhirResponse(operation_outcome(status, code, detail), status, headers=headers)
