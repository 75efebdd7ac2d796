"""Webhook routes the messaging providers call. They carry no credentials of ours (the
gateway lets them through, see gateway/auth.py CREDENTIAL_ROUTES); each is authenticated by
its provider's signature in `service.ProviderWebhooks`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response

from clinicflow.infra.error_responses import documented
from clinicflow.infra.web import provided
from clinicflow.notifications.callbacks.errors import WebhookRefused
from clinicflow.notifications.callbacks.service import ProviderWebhooks
from clinicflow.shared.errors import InvalidRequest

PREFIX = "/v1/webhooks"
TWILIO_STATUS = f"{PREFIX}/twilio/status"
TWILIO_INBOUND = f"{PREFIX}/twilio/inbound"
SENDGRID_EVENTS = f"{PREFIX}/sendgrid/events"
ROUTES = frozenset({TWILIO_STATUS, TWILIO_INBOUND, SENDGRID_EVENTS})

# Twilio's form posts are a few hundred bytes; SendGrid batches events, up to a few MB. The
# edge (gateway/hygiene.py) refuses longer bodies with 413 before these routes read them:
# anyone can post here before the signature is checked.
BODY_LIMITS = {
    TWILIO_STATUS: 64 * 1024,
    TWILIO_INBOUND: 64 * 1024,
    SENDGRID_EVENTS: 8 * 1024 * 1024,
}
# An empty TwiML answer: no reply of ours. Twilio answers STOP/START with its own message.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

router = APIRouter(prefix=PREFIX, tags=["webhooks"])
ProviderWebhooksDep = Annotated[ProviderWebhooks, Depends(provided(ProviderWebhooks))]
SIGNED_BY_PROVIDER = (WebhookRefused, InvalidRequest)


@router.post(
    TWILIO_STATUS.removeprefix(PREFIX),
    **documented(
        "receiveTwilioStatus",
        "Twilio's delivery status for a text message (signed by Twilio)",
        *SIGNED_BY_PROVIDER,
        status_code=204,
    ),
)
async def twilio_status(webhooks: ProviderWebhooksDep, request: Request) -> Response:
    params = await _form(request)
    signature = request.headers.get("x-twilio-signature")
    await webhooks.sms_status(_target(request), params, signature)
    return Response(status_code=204)


@router.post(
    TWILIO_INBOUND.removeprefix(PREFIX),
    **documented(
        "receiveTwilioMessage",
        "A patient's text message to the clinic, relayed by Twilio (STOP, START, ...)",
        *SIGNED_BY_PROVIDER,
    ),
)
async def twilio_inbound(webhooks: ProviderWebhooksDep, request: Request) -> Response:
    params = await _form(request)
    signature = request.headers.get("x-twilio-signature")
    await webhooks.sms_inbound(_target(request), params, signature)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post(
    SENDGRID_EVENTS.removeprefix(PREFIX),
    **documented(
        "receiveSendgridEvents",
        "SendGrid's email events: delivered, bounced, ... (signed by SendGrid)",
        *SIGNED_BY_PROVIDER,
        status_code=204,
    ),
)
async def sendgrid_events(webhooks: ProviderWebhooksDep, request: Request) -> Response:
    body = await request.body()
    await webhooks.email_events(body, request.headers)
    return Response(status_code=204)


def _target(request: Request) -> str:
    """The path and query as requested: with the public URL, what Twilio signed."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
