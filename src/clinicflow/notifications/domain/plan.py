"""Which messages an event produces, and the consent rules that decide each channel.

Email is transactional: it goes to any patient with an address unless they withdrew email
consent. SMS needs an explicit opt-in. A skipped message is still planned (and recorded) with
its reason, so staff can answer "why did I get no text?" without reading any PHI.

Web Push goes to patients with a registered browser: the browser's permission prompt, and
the patient registering that subscription, is the explicit opt-in; deleting the last
subscription withdraws it. A patient who has no subscription gets no push message planned at
all (not even a skipped one: the channel does not exist for them). A push withdrawal recorded
in the contact preferences ({"push": false}) wins over subscriptions registered before it; a
browser registered after it is a new consent.

Receipts and refund notices go by email only: a receipt is a document to keep, not an alert,
and an amount on a phone's lock screen tells a passer-by about the patient's money.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NO_CONSENT = "no consent"
NO_EMAIL = "no email address"
NO_PHONE = "no phone number"

EMAIL_ONLY = frozenset({"receipt", "refund"})


@dataclass(frozen=True, slots=True)
class Contact:
    """A patient's reachable addresses and consent, decrypted for the moment of sending."""

    email: str | None
    phone: str | None
    prefs: Mapping[str, Any]
    # When the patient's newest push subscription was registered; None when they have none
    # (or push is not configured, so nothing is planned for it).
    push_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Planned:
    channel: str  # email | sms | push
    template: str  # "<kind>.<channel>", e.g. "confirmation.email"
    address: str | None
    skip_reason: str | None = None

    @property
    def kind(self) -> str:
        return self.template.split(".", 1)[0]


def withdrawn(prefs: Mapping[str, Any], channel: str) -> bool:
    entry = prefs.get(channel) or {}
    return bool(entry.get("withdrawn_at")) and not entry.get("opt_in")


def opted_in(prefs: Mapping[str, Any], channel: str) -> bool:
    return bool((prefs.get(channel) or {}).get("opt_in"))


def email_skip_reason(contact: Contact) -> str | None:
    if not contact.email:
        return NO_EMAIL
    return NO_CONSENT if withdrawn(contact.prefs, "email") else None


def sms_skip_reason(contact: Contact) -> str | None:
    if not opted_in(contact.prefs, "sms"):
        return NO_CONSENT
    return None if contact.phone else NO_PHONE


def push_skip_reason(contact: Contact) -> str | None:
    entry = contact.prefs.get("push") or {}
    withdrawn_at = entry.get("withdrawn_at")
    if not withdrawn_at or entry.get("opt_in") or contact.push_since is None:
        return None
    withdrawn = datetime.fromisoformat(str(withdrawn_at))
    if withdrawn.tzinfo is None:
        withdrawn = withdrawn.replace(tzinfo=UTC)
    return NO_CONSENT if contact.push_since <= withdrawn else None


def plan(kind: str, contact: Contact) -> list[Planned]:
    """The messages of one kind (confirmation, rescheduled, cancelled, reminder; receipt and
    refund by email only)."""
    email_reason = email_skip_reason(contact)
    email = Planned("email", f"{kind}.email", None if email_reason else contact.email, email_reason)
    if kind in EMAIL_ONLY:
        return [email]
    sms_reason = sms_skip_reason(contact)
    planned = [
        email,
        Planned("sms", f"{kind}.sms", None if sms_reason else contact.phone, sms_reason),
    ]
    if contact.push_since is not None:
        # No address: the push channel sends to every subscription the patient has then.
        planned.append(Planned("push", f"{kind}.push", None, push_skip_reason(contact)))
    return planned
