"""Twilio's webhooks behind notifications' `SmsWebhooks` port: the signature check and the
parsers of twilio.py, with Twilio's statuses folded onto the four a message row keeps."""

from __future__ import annotations

import re
from collections.abc import Mapping

from clinicflow.adapters.messaging.twilio import (
    PROVIDER,
    parse_inbound,
    parse_status_callback,
    validate_twilio_signature,
)
from clinicflow.notifications.ports import DeliveryReport, IncomingSms, MessageStatus

_ERROR_CODE = re.compile(r"^\d{1,6}$")


class TwilioWebhooks:
    def __init__(self, auth_token: str) -> None:
        self._auth_token = auth_token

    def __repr__(self) -> str:
        return "TwilioWebhooks()"  # the auth token signs; it never reaches a log

    def authentic(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        if not signature:
            return False
        return validate_twilio_signature(self._auth_token, url, params, signature)

    def status_report(self, params: Mapping[str, str]) -> DeliveryReport | None:
        if not (params.get("MessageSid") or params.get("SmsSid")):
            raise ValueError("a Twilio status callback names MessageSid")
        if not (params.get("MessageStatus") or params.get("SmsStatus")):
            raise ValueError("a Twilio status callback names MessageStatus")
        try:
            update = parse_status_callback(params)
        except ValueError:
            return None  # a status we do not track ("receiving" …): nothing to change
        status: MessageStatus = "failed" if update.status == "undelivered" else update.status
        reason = None
        if status == "failed":
            # Only Twilio's numeric code: its texts can quote the number.
            code = update.error_code if _ERROR_CODE.match(update.error_code or "") else None
            reason = f"twilio {update.status}" + (f", error {code}" if code else "")
        return DeliveryReport(PROVIDER, (update.provider_id,), status, reason)

    def incoming(self, params: Mapping[str, str]) -> IncomingSms:
        message = parse_inbound(params)
        return IncomingSms(message.sender, message.intent)
