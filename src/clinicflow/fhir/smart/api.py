"""SMART Backend Services over HTTP: the token endpoint (a form, as OAuth clients post it)
and the discovery document at the FHIR base's `.well-known/smart-configuration`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import JSONResponse

from clinicflow.fhir import BASE
from clinicflow.fhir.smart.domain.assertions import ALGORITHMS
from clinicflow.fhir.smart.domain.scopes import SUPPORTED
from clinicflow.fhir.smart.service import SmartTokens
from clinicflow.infra.web import provided

TOKEN_PATH = "/fhir/auth/token"  # noqa: S105 (a path, not a secret)
CONFIGURATION_PATH = f"{BASE}/.well-known/smart-configuration"
SmartTokensDep = Annotated[SmartTokens, Depends(provided(SmartTokens))]
router = APIRouter(include_in_schema=False)


@router.post(TOKEN_PATH)
async def token(
    tokens: SmartTokensDep,
    grant_type: Annotated[str | None, Form(max_length=100)] = None,
    client_assertion_type: Annotated[str | None, Form(max_length=200)] = None,
    client_assertion: Annotated[str | None, Form(max_length=16_000)] = None,
    scope: Annotated[str | None, Form(max_length=2000)] = None,
) -> JSONResponse:
    issued = await tokens.exchange(grant_type, client_assertion_type, client_assertion, scope)
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.get(CONFIGURATION_PATH)
async def configuration(tokens: SmartTokensDep) -> JSONResponse:
    return JSONResponse(
        {
            "token_endpoint": tokens.token_url,
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
            "scopes_supported": sorted(SUPPORTED),
            "capabilities": ["client-confidential-asymmetric"],
        }
    )
