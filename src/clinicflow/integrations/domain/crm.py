"""What a CRM may receive about a patient: a contact for marketing, and only with consent.

Sent: the email (HubSpot's key for a contact) and the first and last name. Never sent:
services, visit types, visit times, practitioners, notes, birth date, address, or anything
else of the visit history. Which service someone books says what they are being treated
for, so it is clinical, and marketing is not treatment. A patient who has not opted in to
marketing (the `marketing` channel of their contact preferences) is not sent at all, nor is
one without an email.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKETING = "marketing"


@dataclass(frozen=True, slots=True)
class MarketingCandidate:
    """What the patients context gives for the decision: contact details and the consent."""

    email: str | None
    first_name: str | None
    last_name: str | None
    marketing_opt_in: bool


@dataclass(frozen=True, slots=True)
class CrmContact:
    email: str
    first_name: str | None
    last_name: str | None


def contact_of(candidate: MarketingCandidate | None) -> CrmContact | None:
    if candidate is None or not candidate.marketing_opt_in or not candidate.email:
        return None
    return CrmContact(candidate.email, candidate.first_name, candidate.last_name)
