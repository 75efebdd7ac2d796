"""Sign-in routes: staff login/logout, patient one-time links, OAuth tokens, JWKS.

The page a patient's emailed link opens (`SIGN_IN`) is the web pages' (web/patient_area.py):
mail scanners and link previews follow links with GET, so GET only shows a button, and the
button POSTs the token, which redeems it (`PatientLinks.redeem`, as `patient_session` here)
and sets the session cookie (`set_session_cookie`).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Header, Request, Response

from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.oauth.errors import InvalidClient, OAuthError
from clinicflow.identity.oauth.service import TokenService
from clinicflow.identity.schemas import (
    AcceptedOut,
    LoginIn,
    MeOut,
    PatientLinkIn,
    PatientSessionIn,
    SessionOut,
    TokenOut,
)
from clinicflow.identity.sessions.service import PatientLinks, SessionStore
from clinicflow.identity.sessions.views import OpenSession
from clinicflow.identity.users.errors import SecondFactorRequired, SignInBackoff
from clinicflow.identity.users.service import UserService
from clinicflow.infra.error_responses import documented
from clinicflow.infra.web import ClockDep, CurrentActor, provided
from clinicflow.patients import InvalidContact, normalize_email
from clinicflow.shared.errors import InvalidRequest

router = APIRouter(tags=["identity"])
COOKIE = "cf_session"
SIGN_IN = "/sign-in"  # the page the emailed link opens (web/patient_area.py serves it)
SIGN_IN_LINK = "/sign-in/link"  # that page's form asking for a link (as `patient_link`)
UsersDep = Annotated[UserService, Depends(provided(UserService))]
SessionsDep = Annotated[SessionStore, Depends(provided(SessionStore))]
PatientLinksDep = Annotated[PatientLinks, Depends(provided(PatientLinks))]
TokensDep = Annotated[TokenService, Depends(provided(TokenService))]


@router.post(
    "/v1/auth/login",
    **documented(
        "login",
        "Sign a staff member in: a session cookie and bearer token",
        TokenInvalid,
        SecondFactorRequired,
        SignInBackoff,
    ),
)
async def login(
    users: UsersDep,
    sessions: SessionsDep,
    clock: ClockDep,
    request: Request,
    response: Response,
    body: LoginIn,
) -> SessionOut:
    # The peer address, which uvicorn takes from X-Forwarded-For only for trusted proxies.
    address = request.client.host if request.client else None
    opened, user = await users.login(body.username, body.password, body.totp_code, address=address)
    set_session_cookie(request, response, opened, clock.now())
    return _session_out(sessions, opened, user.role, user_id=user.id)


@router.post("/v1/auth/logout", **documented("logout", "End the caller's session", status_code=204))
async def logout(sessions: SessionsDep, request: Request, response: Response) -> None:
    token = _presented_session(request)
    if token:
        await sessions.revoke(token)
    response.delete_cookie(COOKIE, path="/")


@router.get("/v1/auth/me", **documented("whoAmI", "Who the credentials sent act as"))
async def me(actor: CurrentActor) -> MeOut:
    return MeOut(
        kind=actor.kind,
        id=actor.id,
        role=actor.role.value,
        scopes=sorted(actor.scopes),
        practitioner=actor.practitioner,
        patient_id=actor.patient_id,
    )


@router.post(
    "/v1/auth/patient-link",
    **documented(
        "requestPatientLink",
        "Email a patient a one-time sign-in link",
        InvalidRequest,
        status_code=202,
    ),
)
async def patient_link(
    links: PatientLinksDep, body: PatientLinkIn, background: BackgroundTasks
) -> AcceptedOut:
    try:
        email = normalize_email(body.email)
    except InvalidContact as exc:
        raise InvalidRequest(f"email: {exc}") from exc
    send = await links.request(email)
    if send is not None:
        background.add_task(send)
    return AcceptedOut(
        detail="if a patient record has this email, a sign-in link is on its way to it"
    )


@router.post(
    "/v1/auth/patient-session",
    **documented(
        "openPatientSession", "Redeem a patient's sign-in link for a session", TokenInvalid
    ),
)
async def patient_session(
    links: PatientLinksDep,
    sessions: SessionsDep,
    clock: ClockDep,
    request: Request,
    response: Response,
    body: PatientSessionIn,
) -> SessionOut:
    opened, patient_id = await links.redeem(body.token)
    set_session_cookie(request, response, opened, clock.now())
    return _session_out(sessions, opened, "patient", patient_id=patient_id)


@router.post(
    "/v1/oauth/token",
    **documented(
        "issueToken", "Issue an OAuth access token (client credentials)", OAuthError, InvalidClient
    ),
)
async def token(
    service: TokensDep,
    grant_type: Annotated[str, Form()],
    scope: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> TokenOut:
    """RFC 6749 §4.4: client credentials, by HTTP Basic or in the form body."""
    if grant_type != "client_credentials":
        raise OAuthError(
            "only grant_type=client_credentials is supported", error="unsupported_grant_type"
        )
    client_id, client_secret = _client_credentials(authorization, client_id, client_secret)
    issued = await service.client_credentials(client_id, client_secret, scope)
    return TokenOut(
        access_token=issued.access_token,
        token_type=issued.token_type,
        expires_in=issued.expires_in,
        scope=issued.scope,
    )


@router.get(
    "/.well-known/jwks.json",
    **documented("getJwks", "The public keys that verify this clinic's access tokens"),
)
async def jwks(service: TokensDep) -> dict[str, object]:
    return await service.jwks()


def _client_credentials(
    authorization: str | None, client_id: str | None, client_secret: str | None
) -> tuple[str, str]:
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient(
                "malformed HTTP Basic credentials", error="invalid_client"
            ) from None
        user, sep, password = decoded.partition(":")
        if sep:
            return unquote(user), unquote(password)
    if client_id and client_secret:
        return client_id, client_secret
    raise InvalidClient(
        "authenticate the client with HTTP Basic or client_id and client_secret in the form",
        error="invalid_client",
    )


def _presented_session(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer cfs_"):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def set_session_cookie(
    request: Request, response: Response, opened: OpenSession, now: datetime
) -> None:
    # Max-Age, not Expires: the browser counts the lifetime from its own clock, so a skewed
    # client clock (or the injected clock in tests) cannot make a fresh cookie arrive expired.
    response.set_cookie(
        COOKIE,
        opened.token,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
        max_age=max(0, int((opened.expires_at - now).total_seconds())),
    )


def _session_out(
    sessions: SessionStore,
    opened: OpenSession,
    role: str,
    *,
    user_id: str | None = None,
    patient_id: str | None = None,
) -> SessionOut:
    return SessionOut(
        token=opened.token,
        expires_at=opened.expires_at,
        idle_timeout_seconds=int(sessions.idle.total_seconds()),
        role=role,
        user_id=user_id,
        patient_id=patient_id,
    )
