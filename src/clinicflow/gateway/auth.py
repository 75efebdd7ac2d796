"""Authentication at the edge: every request gets an `Actor` before its route runs.

Authorization is not decided here: the use cases decide, with the actor, what it may see.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request

from clinicflow.calendars.page_bookings.api import ROUTES as CALENDLY_WEBHOOKS
from clinicflow.calendars.subscriptions.api import BODY_LIMITS as CALENDAR_BODY_LIMITS
from clinicflow.calendars.subscriptions.api import CONTENT_TYPES as CALENDAR_CONTENT_TYPES
from clinicflow.calendars.subscriptions.api import ROUTES as CALENDAR_WEBHOOKS
from clinicflow.fhir import BASE as FHIR_BASE
from clinicflow.fhir.outcome import is_fhir
from clinicflow.fhir.routers import BODY_TYPES as FHIR_BODY_TYPES
from clinicflow.fhir.routers import TOKEN_PATH as SMART_TOKEN
from clinicflow.fhir.smart.domain.assertions import TOKEN_PREFIX as SMART_PREFIX
from clinicflow.fhir.smart.errors import SmartTokenInvalid
from clinicflow.fhir.smart.service import SmartTokens
from clinicflow.gateway.hygiene import FORM, JSON, BodyRules
from clinicflow.identity import Authenticator
from clinicflow.identity.api import COOKIE, SIGN_IN, SIGN_IN_LINK
from clinicflow.infra.web import Provided
from clinicflow.integrations.api import BODY_LIMITS as EHR_BODY_LIMITS
from clinicflow.integrations.api import ROUTES as EHR_WEBHOOKS
from clinicflow.notifications.callbacks.api import BODY_LIMITS as MESSAGING_BODY_LIMITS
from clinicflow.notifications.callbacks.api import ROUTES as MESSAGING_WEBHOOKS
from clinicflow.notifications.callbacks.api import TWILIO_INBOUND, TWILIO_STATUS
from clinicflow.payments.api import WEBHOOK_ROUTES as PAYMENT_WEBHOOKS
from clinicflow.settings import Settings
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.errors import DomainError
from clinicflow.web.routers import FORM_PATHS as WEB_FORM_PATHS
from clinicflow.web.routers import is_page
from clinicflow.web.staff_console import SIGN_IN as STAFF_SIGN_IN

# Vendor webhooks: messaging providers, payment gateways, calendars and the EHR.
PROVIDER_WEBHOOKS = (
    MESSAGING_WEBHOOKS | PAYMENT_WEBHOOKS | CALENDAR_WEBHOOKS | CALENDLY_WEBHOOKS | EHR_WEBHOOKS
)

BREAK_GLASS_HEADER = "x-break-glass-reason"
# Routes that take credentials in exchange for new ones, or end a session, and act for no
# one. The credentials a caller already holds are not checked there: a browser whose session
# timed out still sends the old cookie when signing in or out again, and the token endpoint
# reads `Authorization: Basic` as client credentials (RFC 6749 §2.3.1).
CREDENTIAL_ROUTES = frozenset(
    {
        "/v1/auth/login",
        "/v1/auth/logout",
        "/v1/auth/patient-link",
        "/v1/auth/patient-session",
        SIGN_IN,  # the sign-in link's page and its button (a form)
        SIGN_IN_LINK,  # that page's form asking for a link by email
        STAFF_SIGN_IN,  # the staff console's sign-in form
        "/v1/oauth/token",
        "/.well-known/jwks.json",
        SMART_TOKEN,  # SMART Backend Services: the signed assertion is the credential
    }
    # Vendor webhooks: they carry no credentials of ours, only the vendor's signature, which
    # the route checks before reading anything.
    | PROVIDER_WEBHOOKS
)

# The rate-limit class of the routes above (others are "read" or "write" by method): sign-in
# attempts are limited hard, per IP, to slow down password guessing.
ROUTE_CLASSES = {path: "auth" for path in CREDENTIAL_ROUTES} | {
    path: "webhook" for path in PROVIDER_WEBHOOKS
}


async def authenticate(request: Request) -> None:
    """Every route's first dependency: the caller, from the credential the request carries,
    checked by the app's authenticator (and the FHIR API's SMART tokens), which it reads from
    the app's parts on each request rather than closing over them. So one dependency serves
    every app, and the routes that carry it can be shared by apps over other containers
    (gateway/app.py `_context_routes`)."""
    parts: Provided = request.app.state.provided
    path = request.url.path
    if path in CREDENTIAL_ROUTES:
        actor = ANONYMOUS
    elif (token := _smart_token(request)) is not None:
        # A SMART access token opens the FHIR API and nothing else.
        if not is_fhir(path):
            raise SmartTokenInvalid(f"a SMART access token is accepted under {FHIR_BASE} only")
        actor = await parts.get(SmartTokens).actor_for(token)
    elif is_page(path) and not _sends_credentials(request):
        # A page: a session cookie that no longer signs in (expired, revoked) makes the
        # visitor anonymous, as a browser expects; the page asks them to sign in again
        # where it needs them. The API answers 401 instead.
        try:
            actor = await parts.get(Authenticator).actor_for(
                None, None, request.cookies.get(COOKIE)
            )
        except DomainError as exc:
            if exc.status != 401:
                raise
            actor = ANONYMOUS
    else:
        actor = await parts.get(Authenticator).actor_for(
            request.headers.get("authorization"),
            request.headers.get("x-api-key"),
            request.cookies.get(COOKIE),
        )
    actor = actor.at(
        request.client.host if request.client else None,
        getattr(request.state, "request_id", None),
    )
    reason = request.headers.get(BREAK_GLASS_HEADER, "").strip()
    if reason:
        actor = replace(actor, break_glass_reason=reason[:500])
    request.state.actor = actor


def _smart_token(request: Request) -> str | None:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() == "bearer" and credential.startswith(SMART_PREFIX):
        return credential
    return None


def _sends_credentials(request: Request) -> bool:
    return "authorization" in request.headers or "x-api-key" in request.headers


def body_rules(settings: Settings) -> BodyRules:
    """Which bodies each route takes: JSON, except the forms OAuth clients and Twilio post."""
    forms = frozenset({FORM, JSON})
    return BodyRules(
        max_bytes=settings.max_body_bytes,
        content_types={
            "/v1/oauth/token": forms,
            SMART_TOKEN: frozenset({FORM}),
            SIGN_IN: frozenset({FORM}),
            TWILIO_STATUS: frozenset({FORM}),
            TWILIO_INBOUND: frozenset({FORM}),
            **CALENDAR_CONTENT_TYPES,
        },
        max_bytes_for={**MESSAGING_BODY_LIMITS, **CALENDAR_BODY_LIMITS, **EHR_BODY_LIMITS},
        form_prefixes=WEB_FORM_PATHS,
        prefix_types=((FHIR_BASE + "/", FHIR_BODY_TYPES),),
    )
