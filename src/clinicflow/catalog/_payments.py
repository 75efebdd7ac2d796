"""The `payments:` section of config/clinic.yaml: its shape (Pydantic) and the typed config built
from it. References to services and visit types are checked in `_checks`, from the raw data.

Prices and fixed amounts are US dollars like the services block (TBD where allowed); percentages
are numbers from 0 to 100 with at most two decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PlainValidator, StrictBool, model_validator

from clinicflow.catalog._schema import (
    CalendarDate,
    Key,
    Keys,
    PositiveDays,
    PriceCents,
    Spec,
    Text,
    _fail,
    _price_cents,
    _whole,
    is_tbd,
)
from clinicflow.catalog.domain import (
    BillingIdentity,
    CancellationPolicy,
    MultiServiceCount,
    MultiServiceDiscount,
    PackageItem,
    PackageOffer,
    PaymentsConfig,
    Promotion,
    Rate,
)

_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,31}")
_EIN = re.compile(r"\d{2}-\d{7}")


def _percent(value: Any) -> Decimal:
    hint = "write a number from 0 to 100 like 10 or 12.5 (no % sign)"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _fail(f"must be a percentage: {hint}; not {value!r}")
    # repr() keeps a float's written digits: Decimal(0.1) would be 0.1000000000000000055...
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite() or not Decimal(0) <= amount <= Decimal(100):
        raise _fail(f"is out of range ({value}); {hint}")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise _fail(f"has more than 2 decimal places ({value}); round it, e.g. {amount:.2f}")
    return amount


def _dollars(value: Any) -> int:
    cents = _price_cents(value)
    if cents is None:
        raise _fail("must be an amount in US dollars like 40 or 12.50; TBD is not allowed here")
    return cents


def _count(value: Any) -> MultiServiceCount:
    try:
        return MultiServiceCount(value)
    except ValueError:
        choices = " or ".join(c.value for c in MultiServiceCount)
        raise _fail(f"must be {choices}, not {value!r}") from None


def _code(value: Any) -> str:
    if isinstance(value, str) and _CODE.fullmatch(value):
        return value
    hint = f"; write it in capitals: {value.upper()}" if isinstance(value, str) else ""
    raise _fail(
        f"promotion code {value!r} must be 3 to 32 capital letters, digits, '-' or '_', "
        f"starting with a letter or digit (like WELCOME15){hint}"
    )


def _tax_id(value: Any) -> str | None:
    if value is None or is_tbd(value):
        return None
    if isinstance(value, str) and _EIN.fullmatch(value.strip()):
        return value.strip()
    raise _fail(f'must be an EIN in quotes like "12-3456789", or TBD; not {value!r}')


def _distinct_items(items: list[PackageItemSpec]) -> list[PackageItemSpec]:
    for i, item in enumerate(items):
        if any((o.service, o.visit_type) == (item.service, item.visit_type) for o in items[:i]):
            raise _fail(
                f"{item.service} {item.visit_type} is listed twice; "
                "keep one entry and add up its visits",
                at=f"[{i}]",
            )
    return items


Percent = Annotated[Decimal, PlainValidator(_percent)]
Dollars = Annotated[int, PlainValidator(_dollars)]
Count = Annotated[int, PlainValidator(_whole(1, "uses"))]
Visits = Annotated[int, PlainValidator(_whole(1, "visits"))]
Hours = Annotated[int, PlainValidator(_whole(0, "hours"))]
Code = Annotated[str, PlainValidator(_code)]
TaxId = Annotated[str | None, PlainValidator(_tax_id)]


class RateSpec(Spec):
    percent: Percent | None = None
    amount: Dollars | None = None

    @model_validator(mode="after")
    def _one_of(self) -> RateSpec:
        if self.percent is not None and self.amount is not None:
            raise _fail("give either percent or amount, not both; remove one")
        if self.percent is None and self.amount is None:
            raise _fail("give percent (like 50) or amount in US dollars (like 40)")
        return self

    def build(self) -> Rate:
        return Rate(percent=self.percent, cents=self.amount)


class MultiServiceSpec(Spec):
    percent: Percent = Decimal(10)
    count: Annotated[MultiServiceCount, PlainValidator(_count)] = (
        MultiServiceCount.DISTINCT_SERVICES
    )


class PackageItemSpec(Spec):
    service: Key
    visit_type: Key
    visits: Visits = 1


class PackageSpec(Spec):
    name: Text
    price: PriceCents
    valid_days: PositiveDays
    includes: Annotated[list[PackageItemSpec], Field(min_length=1), AfterValidator(_distinct_items)]


class PromotionSpec(Spec):
    description: str = ""
    discount: RateSpec
    starts: CalendarDate
    ends: CalendarDate | None = None
    max_uses: Count | None = None
    max_uses_per_patient: Count | None = None
    services: Keys | None = None
    visit_types: Keys | None = None
    new_patients_only: StrictBool = False
    stacks_with_multi_service: StrictBool = False

    @model_validator(mode="after")
    def _consistent(self) -> PromotionSpec:
        if self.ends is not None and self.ends < self.starts:
            raise _fail(
                f"ends {self.ends} is before starts {self.starts}; make ends the same day or later",
                at=".ends",
            )
        total, each = self.max_uses, self.max_uses_per_patient
        if total is not None and each is not None and each > total:
            raise _fail(
                f"max_uses_per_patient ({each}) is more than max_uses ({total}); "
                f"lower it to {total} or less",
                at=".max_uses_per_patient",
            )
        return self


class CancellationSpec(Spec):
    full_refund_hours: Hours = 24
    late_cancel_fee: RateSpec = RateSpec(percent=Decimal(50))
    no_show_fee: RateSpec = RateSpec(percent=Decimal(100))
    return_credit_on_late_cancel: StrictBool = False


class BillingSpec(Spec):
    legal_name: Text
    address: Annotated[list[Text], Field(min_length=1)]
    tax_id: TaxId = None
    phone: Text | None = None
    email: Text | None = None


class PaymentsSpec(Spec):
    multi_service_discount: MultiServiceSpec = MultiServiceSpec()
    packages: dict[Key, PackageSpec] = Field(default_factory=dict)
    promotions: dict[Code, PromotionSpec] = Field(default_factory=dict)
    cancellation: CancellationSpec = CancellationSpec()
    hsa_fsa_eligible: Keys = Field(default_factory=list)
    billing: BillingSpec | None = None


def build_payments(spec: PaymentsSpec) -> PaymentsConfig:
    multi = spec.multi_service_discount
    packages = {key: _package(key, package) for key, package in spec.packages.items()}
    promotions = {code: _promotion(code, promo) for code, promo in spec.promotions.items()}
    cancel = spec.cancellation
    billing = spec.billing
    return PaymentsConfig(
        multi_service_discount=MultiServiceDiscount(percent=multi.percent, count=multi.count),
        packages=MappingProxyType(packages),
        promotions=MappingProxyType(promotions),
        cancellation=CancellationPolicy(
            full_refund_hours=cancel.full_refund_hours,
            late_cancel_fee=cancel.late_cancel_fee.build(),
            no_show_fee=cancel.no_show_fee.build(),
            return_credit_on_late_cancel=cancel.return_credit_on_late_cancel,
        ),
        hsa_fsa_eligible=frozenset(spec.hsa_fsa_eligible),
        billing=None
        if billing is None
        else BillingIdentity(
            legal_name=billing.legal_name,
            address=tuple(billing.address),
            tax_id=billing.tax_id,
            phone=billing.phone,
            email=billing.email,
        ),
    )


def _package(key: str, spec: PackageSpec) -> PackageOffer:
    items = tuple(PackageItem(i.service, i.visit_type, i.visits) for i in spec.includes)
    return PackageOffer(key, spec.name, spec.price, spec.valid_days, items)


def _promotion(code: str, spec: PromotionSpec) -> Promotion:
    return Promotion(
        code=code,
        discount=spec.discount.build(),
        starts=spec.starts,
        ends=spec.ends,
        max_uses=spec.max_uses,
        max_uses_per_patient=spec.max_uses_per_patient,
        services=None if spec.services is None else frozenset(spec.services),
        stacks_with_multi_service=spec.stacks_with_multi_service,
        description=spec.description,
        visit_types=None if spec.visit_types is None else frozenset(spec.visit_types),
        new_patients_only=spec.new_patients_only,
    )
