"""The page a patient's sign-in link opens, until the web pages come (a later issue).

The link carries a one-time token. Mail scanners and link previews follow links with GET, so
GET only shows a page with a button; the button POSTs the token, which redeems it, sets the
session cookie and sends the browser on to the patient's visits (`GET /v1/bookings`).
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from clinicflow.identity.api import PatientLinksDep, set_session_cookie
from clinicflow.infra.web import ClockDep

router = APIRouter(tags=["identity"])
SIGN_IN = "/sign-in"
AFTER_SIGN_IN = "/v1/bookings"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<meta name="robots" content="noindex"><meta name="referrer" content="no-referrer"></head>
<body><main><h1>Sign in to see your visits</h1>
<form method="post" action="{action}"><input type="hidden" name="token" value="{token}">
<button type="submit">Sign in</button></form>
<p>The link works once. If you did not ask for it, close this page; nothing changes.</p>
</main></body></html>"""


@router.get(SIGN_IN, response_class=HTMLResponse, include_in_schema=False)
async def sign_in_page(token: str = "") -> HTMLResponse:
    """Shows the button only: the token is not used until the patient presses it."""
    page = _PAGE.format(action=SIGN_IN, token=escape(token[:200], quote=True))
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.post(SIGN_IN, include_in_schema=False)
async def sign_in(
    links: PatientLinksDep,
    clock: ClockDep,
    request: Request,
    token: Annotated[str, Form(max_length=200)],
) -> RedirectResponse:
    opened, _ = await links.redeem(token)
    response = RedirectResponse(AFTER_SIGN_IN, status_code=303)
    set_session_cookie(request, response, opened, clock.now())
    return response
