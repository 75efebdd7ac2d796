"""What every page carries against the browser's own dangers: a strict Content-Security-Policy
(no inline script or style, nothing from another origin) and a CSRF token in every form.

CSRF uses OWASP's *signed double-submit cookie*: a random `cf_csrf` cookie (HttpOnly,
SameSite=Lax) and, in each form, an HMAC of it and of the session cookie under a server key.
A cross-site page can neither read the cookie nor compute the HMAC; binding the session means
a token fetched by an attacker for their own session is worthless in the victim's. The
libraries that do this either read the token from a header only (starlette-csrf: forms posted
without JavaScript would fail) or keep their settings in a global loader
(fastapi-csrf-protect); the check is a dozen lines on `hmac.compare_digest`.

Signing out (`end_session`) is here too: the session cookie is what a CSRF token is bound to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.responses import RedirectResponse

from clinicflow.identity.api import COOKIE as SESSION_COOKIE
from clinicflow.identity.sessions.service import SessionStore
from clinicflow.infra.web import provided

CSRF_COOKIE = "cf_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

# Everything from our own origin, nothing inline. Stripe's card field is an iframe from
# js.stripe.com in production; the checkout page widens the policy for that page only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


@dataclass(frozen=True, slots=True)
class WebKeys:
    """The pages' server keys, derived from the clinic's key ring (bootstrap): one signs CSRF
    tokens, the other the passes a browser keeps for a booking it just made."""

    csrf: bytes
    passes: bytes

    @classmethod
    def derived(cls, root: bytes) -> WebKeys:
        def derive(label: bytes) -> bytes:
            return hmac.new(root, b"web:" + label, hashlib.sha256).digest()

        return cls(csrf=derive(b"csrf"), passes=derive(b"passes"))


WebKeysDep = Annotated[WebKeys, Depends(provided(WebKeys))]


class CsrfRefused(Exception):
    """A state-changing request without the token its page gave, or with another's."""


def _token(key: bytes, nonce: str, session: str) -> str:
    return hmac.new(key, f"{nonce}|{session}".encode(), hashlib.sha256).hexdigest()


@dataclass(slots=True)
class Csrf:
    """The token for this request's forms; `nonce_to_set` is the cookie to send when the
    browser had none (`remember` sets it on the response)."""

    token: str
    nonce_to_set: str | None

    def remember(self, request: Request, response: Response) -> None:
        if self.nonce_to_set is not None:
            response.set_cookie(
                CSRF_COOKIE,
                self.nonce_to_set,
                httponly=True,
                secure=request.url.scheme == "https",
                samesite="lax",
                path="/",
            )


def csrf_for(request: Request, keys: WebKeys) -> Csrf:
    nonce = request.cookies.get(CSRF_COOKIE)
    fresh = None
    if not nonce or len(nonce) > 64:
        nonce = fresh = secrets.token_urlsafe(24)
    session = request.cookies.get(SESSION_COOKIE, "")
    return Csrf(_token(keys.csrf, nonce, session), fresh)


def check_csrf(request: Request, keys: WebKeys, sent: str | None) -> None:
    """Raises `CsrfRefused` unless `sent` (the form field, or the header htmx sends) is the
    token for this browser's cookie and session."""
    nonce = request.cookies.get(CSRF_COOKIE)
    sent = sent or request.headers.get(CSRF_HEADER)
    if not nonce or not sent:
        raise CsrfRefused("missing")
    expected = _token(keys.csrf, nonce, request.cookies.get(SESSION_COOKIE, ""))
    if not hmac.compare_digest(expected, sent):
        raise CsrfRefused("mismatch")


async def end_session(request: Request, sessions: SessionStore, then: str) -> RedirectResponse:
    """Signs the browser out (its session revoked, the cookie cleared) and sends it to `then`.
    The caller has read the form first (its CSRF token)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sessions.revoke(token)
    response = RedirectResponse(then, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
