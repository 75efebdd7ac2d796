"""What the clinic charges and how (the `payments:` section): discounts, packages,
promotions, the cancellation policy and who the receipts name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType


class MultiServiceCount(StrEnum):
    """What the multi-service discount counts to decide that an order holds "more than one"."""

    DISTINCT_SERVICES = "distinct_services"  # two follow-ups of one service do not qualify
    ITEMS = "items"  # the seed's `services.length > 1`: any two visits qualify


@dataclass(frozen=True, slots=True)
class Rate:
    """A share of an amount: a percentage (0..100) or a fixed number of cents, never both."""

    percent: Decimal | None = None
    cents: int | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.cents is None):
            raise ValueError("a Rate is either a percent or a number of cents")
        if self.percent is not None and not Decimal(0) <= self.percent <= Decimal(100):
            raise ValueError(f"percent must be within 0..100, not {self.percent}")
        if self.cents is not None and self.cents < 0:
            raise ValueError(f"cents must be 0 or more, not {self.cents}")


@dataclass(frozen=True, slots=True)
class MultiServiceDiscount:
    percent: Decimal = Decimal(10)  # the seed's 10%
    count: MultiServiceCount = MultiServiceCount.DISTINCT_SERVICES


@dataclass(frozen=True, slots=True)
class PackageItem:
    service: str
    visit_type: str
    visits: int


@dataclass(frozen=True, slots=True)
class PackageOffer:
    """A bundle of visits sold at one price; bought, it becomes visit credits per patient."""

    key: str
    name: str
    price_cents: int | None  # None = TBD: the package cannot be sold yet
    valid_days: int  # credits expire this many days after the purchase
    items: tuple[PackageItem, ...]


@dataclass(frozen=True, slots=True)
class Promotion:
    code: str  # upper case; codes are matched case-insensitively
    discount: Rate
    starts: date  # first local day it may be used
    ends: date | None  # last local day it may be used (inclusive); None = no end
    max_uses: int | None = None  # over all patients; None = unlimited
    max_uses_per_patient: int | None = None
    services: frozenset[str] | None = None  # eligible services; None = every service
    stacks_with_multi_service: bool = False
    description: str = ""
    visit_types: frozenset[str] | None = None  # eligible visit types; None = every type
    new_patients_only: bool = False  # only for a patient with no earlier visit


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    full_refund_hours: int = 24  # cancelled at least this long before the start: full refund
    late_cancel_fee: Rate = field(default_factory=lambda: Rate(percent=Decimal(50)))
    no_show_fee: Rate = field(default_factory=lambda: Rate(percent=Decimal(100)))
    # A credit-paid visit has no cash to keep a fee from, so a late cancellation forfeits the
    # credit unless the clinic says otherwise; a no-show always forfeits it.
    return_credit_on_late_cancel: bool = False


@dataclass(frozen=True, slots=True)
class BillingIdentity:
    """Who the receipts say the patient paid."""

    legal_name: str
    address: tuple[str, ...]  # printed lines
    tax_id: str | None = None  # EIN; None = TBD
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentsConfig:
    multi_service_discount: MultiServiceDiscount = field(default_factory=MultiServiceDiscount)
    packages: Mapping[str, PackageOffer] = field(default_factory=lambda: MappingProxyType({}))
    promotions: Mapping[str, Promotion] = field(default_factory=lambda: MappingProxyType({}))
    cancellation: CancellationPolicy = field(default_factory=CancellationPolicy)
    hsa_fsa_eligible: frozenset[str] = frozenset()  # service keys
    billing: BillingIdentity | None = None
    # Whether the booking site offers "pay at the clinic" (web/booking_details.py); when not,
    # online booking needs a card or PayPal payment set up.
    pay_at_clinic: bool = True
