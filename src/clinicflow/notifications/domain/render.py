"""Rendering messages from the templates: Jinja2, strict about missing values, HTML escaped.

The texts name the clinic, the local date and time in the clinic's zone, the practitioner and
the link to manage the booking; the service's name (which can hint at a health condition)
appears only where the options allow it, and never in an SMS by default. A push notification
shows on a lock screen like an SMS, so it follows the SMS option and names no practitioner.

A receipt or refund notice names the clinic, the amount formatted from cents with its
currency, the payment method in words and the link to the itemized receipt (which the patient
signs in to open); the visits it paid for are dated, and named only as the options allow.

Pure: the texts are a function of the template, the subject and the catalog; the templates
are the context's own data files (`templates/`), read once by Jinja2's loader.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from clinicflow.catalog.domain import Catalog
from clinicflow.notifications.domain.payment import PaymentNotice, method_words, money_text
from clinicflow.notifications.domain.subject import Subject
from clinicflow.notifications.domain.visit import Visit

TEMPLATES = Path(__file__).parent.parent / "templates"


@dataclass(frozen=True, slots=True)
class RenderOptions:
    public_url: str
    email_service_name: bool = True
    sms_service_name: bool = False
    ics_service_name: bool = False


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str  # a push notification's title
    text: str
    html: str | None = None
    # What a push notification carries: {"title", "body", "url", "tag"}.
    data: Mapping[str, str] | None = None


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
    )


class Renderer:
    def __init__(self, catalog: Catalog, options: RenderOptions) -> None:
        self._catalog = catalog
        self.options = options
        self._env = _environment()

    @property
    def clinic_name(self) -> str:
        return self._catalog.clinic.name

    def service_name(self, key: str) -> str:
        service = self._catalog.services.get(key)
        return service.name if service else key

    def render(self, template: str, subject: Subject) -> Rendered:
        """`template` is "<kind>.<channel>", e.g. "confirmation.email", "reminder.sms" or
        "receipt.email"; `subject` the visit or payment the kind is about."""
        kind, channel = template.split(".", 1)
        if isinstance(subject, PaymentNotice):
            context = self.payment_context(subject, channel)
        else:
            context = self.context(subject, channel)
        if channel == "sms":
            return Rendered(subject="", text=self._get(f"{kind}.sms.txt", context).strip())
        if channel == "push":
            return self._push(kind, context)
        return Rendered(
            subject=self._get(f"{kind}.subject.txt", context).strip(),
            text=self._get(f"{kind}.email.txt", context).strip() + "\n",
            html=self._get(f"{kind}.email.html", context),
        )

    def context(self, visit: Visit, channel: str) -> dict[str, Any]:
        tz = self._catalog.clinic.tz
        practitioner = self._catalog.practitioners.get(visit.practitioner)
        show_service = self._shows_service(channel)
        previous = visit.previous_start.astimezone(tz) if visit.previous_start else None
        return {
            "clinic_name": self._catalog.clinic.name,
            **self._when(visit.start),
            "previous": f"{previous:%a} {previous.day} {previous:%b %H:%M}" if previous else None,
            "practitioner_name": practitioner.name if practitioner else visit.practitioner,
            "service_name": self.service_name(visit.service) if show_service else None,
            "manage_url": manage_url(self.options.public_url, visit.booking_id),
            "booking_id": visit.booking_id,
        }

    def payment_context(self, notice: PaymentNotice, channel: str) -> dict[str, Any]:
        show_service = self._shows_service(channel)
        visits = [
            {
                **self._when(v.start),
                "service_name": self.service_name(v.service) if show_service else None,
            }
            for v in notice.visits
        ]
        return {
            "clinic_name": self._catalog.clinic.name,
            "amount": money_text(notice.amount_cents, notice.currency),
            "total": money_text(notice.total_cents, notice.currency),
            "refunded_total": money_text(notice.refunded_cents, notice.currency),
            "fully_refunded": notice.fully_refunded,
            "method": method_words(notice.method, notice.provider),
            "visits": visits,
            "receipt_url": receipt_url(self.options.public_url, notice.order_id),
            "order_id": notice.order_id,
        }

    def _when(self, start: datetime) -> dict[str, str]:
        local = start.astimezone(self._catalog.clinic.tz)
        return {
            "date": f"{local:%A} {local.day} {local:%B %Y}",
            "time": f"{local:%H:%M}",
            "timezone": local.tzname() or self._catalog.clinic.timezone,
        }

    def _shows_service(self, channel: str) -> bool:
        return {
            "sms": self.options.sms_service_name,
            "push": self.options.sms_service_name,
            "email": self.options.email_service_name,
        }.get(channel, False)

    def _push(self, kind: str, context: dict[str, Any]) -> Rendered:
        # The template writes JSON with `tojson`, so any name or text stays valid JSON.
        data = json.loads(self._get(f"{kind}.push.json", context))
        payload = {key: str(data[key]).strip() for key in ("title", "body", "url", "tag")}
        return Rendered(subject=payload["title"], text=payload["body"], data=payload)

    def _get(self, name: str, context: dict[str, Any]) -> str:
        return self._env.get_template(name).render(context)


def manage_url(public_url: str, booking_id: str) -> str:
    """The visit's page in the patient's area (web/patient_visits.py), where they reschedule or
    cancel it; signed out, it offers to email a sign-in link that leads back to it."""
    return f"{public_url.rstrip('/')}/me/visits/{booking_id}"


def receipt_url(public_url: str, order_id: str) -> str:
    """The receipt's page in the patient's area (HTML, with its PDF linked)."""
    return f"{public_url.rstrip('/')}/me/receipts/{order_id}"
