"""What the providers send back: delivery reports and STOP/START replies.

Each webhook is authenticated by the provider's signature before anything is read (they
come with no credentials of ours). Everything here is idempotent: providers retry, and a
repeated report or reply changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.notifications.callbacks.errors import WebhookRefused
from clinicflow.notifications.ports import (
    ConsentRegistry,
    DeliveryReport,
    EmailEvents,
    NotificationsUnitOfWork,
    SmsWebhooks,
)
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import InvalidRequest

log = get_logger(__name__)


class ProviderWebhooks:
    """`sms`/`email` None: that provider's webhooks are refused (403), as unconfigured."""

    def __init__(
        self,
        *,
        uow: UnitsOfWork[NotificationsUnitOfWork],
        clock: Clock,
        public_url: str,
        sms: SmsWebhooks | None = None,
        email: EmailEvents | None = None,
        consent: ConsentRegistry | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._sms = sms
        self._email = email
        self._consent = consent

    async def sms_status(
        self, target: str, params: Mapping[str, str], signature: str | None
    ) -> int:
        """`target`: the path and query string requested. Returns how many messages changed."""
        sms = self._authentic_sms(target, params, signature)
        try:
            report = sms.status_report(params)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        return await self.apply([report] if report else [])

    async def sms_inbound(
        self, target: str, params: Mapping[str, str], signature: str | None
    ) -> int:
        """STOP and its synonyms withdraw SMS consent, START gives it back; anything else
        is not kept (the clinic does not read texts here). Returns how many patients changed."""
        sms = self._authentic_sms(target, params, signature)
        try:
            incoming = sms.incoming(params)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        if incoming.intent == "message":
            return 0
        if self._consent is None:
            log.warning("sms_consent_reply_dropped", intent=incoming.intent)
            return 0
        at = self._clock.now()
        if incoming.intent == "opt_out":
            changed = await self._consent.withdraw_sms(incoming.sender, at)
        else:
            changed = await self._consent.restore_sms(incoming.sender, at)
        # Never the number: only what was asked and how many records it touched.
        log.info("sms_consent_reply", intent=incoming.intent, patients_changed=changed)
        return changed

    async def email_events(self, body: bytes, headers: Mapping[str, str]) -> int:
        if self._email is None or not self._email.authentic(body, headers):
            raise WebhookRefused(
                "the event webhook's signature is missing or does not verify (or no "
                "verification key is configured: CLINICFLOW_SENDGRID_WEBHOOK_PUBLIC_KEY)"
            )
        try:
            reports = self._email.reports(body)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        return await self.apply(reports)

    async def apply(self, reports: Iterable[DeliveryReport]) -> int:
        reports = list(reports)
        if not reports:
            return 0
        now = self._clock.now()
        changed = 0
        async with self._uow() as uow:
            for report in reports:
                changed += await uow.messages.report(report, now)
            await uow.commit()
        log.info("delivery_reports", reports=len(reports), messages_changed=changed)
        return changed

    def _authentic_sms(
        self, target: str, params: Mapping[str, str], signature: str | None
    ) -> SmsWebhooks:
        url = self._public_url + target
        if self._sms is None or not self._sms.authentic(url, params, signature):
            raise WebhookRefused(
                "X-Twilio-Signature is missing or does not match this request (or Twilio is "
                "not configured); the URL signed must be the public URL Twilio was given"
            )
        return self._sms
