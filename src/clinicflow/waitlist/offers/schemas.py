"""HTTP shape of a freed-slot offer. Times are given in the clinic's zone; no PHI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Annotated

from pydantic import Field

from clinicflow.shared.records import from_attributes
from clinicflow.waitlist.offers.views import OfferView


@dataclass(frozen=True, slots=True)
class OfferOut(OfferView):
    status: Annotated[
        str, Field(description="made (open), claiming, claimed, expired or withdrawn")
    ]

    @classmethod
    def of(cls, v: OfferView, tz: tzinfo) -> OfferOut:
        """The view as it is, its times in the clinic's zone."""
        return from_attributes(
            cls, v, expires_at=v.expires_at.astimezone(tz), start=v.start.astimezone(tz)
        )
