"""The `payments:` section of config/clinic.yaml: what it means, its defaults, and mistakes
`clinicflow config check` names with what to change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from clinicflow.catalog.domain import (
    BillingIdentity,
    CancellationPolicy,
    MultiServiceCount,
    MultiServiceDiscount,
    PackageItem,
    PaymentsConfig,
    Rate,
)
from clinicflow.catalog.service import load_catalog, load_catalog_from_text
from support.clinic_config import CLINIC_YAML, MINIMAL, Config, assert_refused, shipped


def test_without_a_payments_section_the_defaults_apply() -> None:
    payments = load_catalog_from_text(MINIMAL).payments
    assert payments == PaymentsConfig()
    assert payments.multi_service_discount == MultiServiceDiscount(
        Decimal(10), MultiServiceCount.DISTINCT_SERVICES
    )
    assert payments.cancellation == CancellationPolicy(
        24, Rate(percent=Decimal(50)), Rate(percent=Decimal(100)), False
    )


def test_the_shipped_configuration_prices_as_documented() -> None:
    payments = load_catalog(CLINIC_YAML).payments
    assert payments.multi_service_discount == MultiServiceDiscount()
    starter = payments.packages["gaps_starter"]
    assert (starter.price_cents, starter.valid_days) == (45900, 180)
    assert starter.items == (
        PackageItem("gaps_coaching", "initial", 1),
        PackageItem("gaps_coaching", "followup", 4),
    )
    welcome = payments.promotions["WELCOME15"]
    assert (welcome.discount, welcome.max_uses_per_patient, welcome.stacks_with_multi_service) == (
        Rate(percent=Decimal(15)),
        1,
        False,
    )
    assert payments.promotions["NEWYEAR25"].ends == date(2027, 1, 31)
    assert payments.cancellation == CancellationPolicy()
    assert payments.hsa_fsa_eligible == {"alternative_medicine", "weight_loss", "counseling"}
    assert payments.billing == BillingIdentity(
        legal_name="Riverbend Wellness Clinic, PLLC",
        address=("1200 Riverside Drive, Suite 300", "Austin, TX 78701"),
        tax_id=None,
        phone="+1 512 555 0142",
        email="billing@riverbend-clinic.example",
    )


def test_counting_items_and_fixed_fees_can_be_configured() -> None:
    text = MINIMAL + (
        "payments:\n"
        "  multi_service_discount: {percent: 12.5, count: items}\n"
        "  cancellation: {late_cancel_fee: {amount: 40}, no_show_fee: {amount: 60.50}}\n"
    )
    payments = load_catalog_from_text(text).payments
    assert payments.multi_service_discount == MultiServiceDiscount(
        Decimal("12.5"), MultiServiceCount.ITEMS
    )
    assert payments.cancellation.late_cancel_fee == Rate(cents=4000)
    assert payments.cancellation.no_show_fee == Rate(cents=6050)


def _section(config: Config, *keys: str) -> Config:
    node: Config = config["payments"]
    for key in keys:
        node = node[key]
    return node


Breaker = Callable[[Config], None]

CASES: list[tuple[str, Breaker, str, str]] = [
    (
        "unknown service in a package",
        lambda c: _section(c, "packages", "gaps_starter")["includes"][0].update(service="gapz"),
        "payments.packages.gaps_starter.includes[0].service",
        "unknown service 'gapz'; services: alternative_medicine, gaps_coaching, weight_loss, "
        "counseling, equine_therapy; fix the name or add the service under services",
    ),
    (
        "unknown visit type in a package",
        lambda c: _section(c, "packages", "gaps_starter")["includes"][1].update(
            visit_type="follow_up"
        ),
        "payments.packages.gaps_starter.includes[1].visit_type",
        "'follow_up' is not a visit type of gaps_coaching; its visit types: initial, followup",
    ),
    (
        "negative package price",
        lambda c: _section(c, "packages", "gaps_starter").update(price=-10),
        "payments.packages.gaps_starter.price",
        "is below zero (-10); a price must be 0 or more",
    ),
    (
        "percent above 100",
        lambda c: _section(c, "multi_service_discount").update(percent=110),
        "payments.multi_service_discount.percent",
        "is out of range (110); write a number from 0 to 100 like 10 or 12.5 (no % sign)",
    ),
    (
        "percent below 0",
        lambda c: _section(c, "promotions", "WELCOME15").update(discount={"percent": -5}),
        "payments.promotions.WELCOME15.discount.percent",
        "is out of range (-5)",
    ),
    (
        "promotion ending before it starts",
        lambda c: _section(c, "promotions", "NEWYEAR25").update(ends=date(2026, 12, 31)),
        "payments.promotions.NEWYEAR25.ends",
        "ends 2026-12-31 is before starts 2027-01-01; make ends the same day or later",
    ),
    (
        "both percent and amount",
        lambda c: _section(c, "promotions", "NEWYEAR25").update(
            discount={"percent": 10, "amount": 25}
        ),
        "payments.promotions.NEWYEAR25.discount",
        "give either percent or amount, not both; remove one",
    ),
    (
        "neither percent nor amount",
        lambda c: _section(c, "cancellation").update(no_show_fee={}),
        "payments.cancellation.no_show_fee",
        "give percent (like 50) or amount in US dollars (like 40)",
    ),
    (
        "lower-case code",
        lambda c: _section(c, "promotions").update(spring10=_section(c, "promotions", "WELCOME15")),
        "payments.promotions.spring10",
        "write it in capitals: SPRING10",
    ),
    (
        "per-patient limit above the total",
        lambda c: _section(c, "promotions", "NEWYEAR25").update(max_uses_per_patient=200),
        "payments.promotions.NEWYEAR25.max_uses_per_patient",
        "max_uses_per_patient (200) is more than max_uses (100); lower it to 100 or less",
    ),
    (
        "unknown service in a promotion",
        lambda c: _section(c, "promotions", "NEWYEAR25").update(services=["gaps"]),
        "payments.promotions.NEWYEAR25.services[0]",
        "unknown service 'gaps'",
    ),
    (
        "a promotion's visit type that none of its services has",
        lambda c: _section(c, "promotions", "WELCOME15").update(visit_types=["first"]),
        "payments.promotions.WELCOME15.visit_types[0]",
        "'first' is not a visit type of its services; their visit types: followup, initial",
    ),
    (
        "new_patients_only that is not true or false",
        lambda c: _section(c, "promotions", "WELCOME15").update(new_patients_only="yes"),
        "payments.promotions.WELCOME15.new_patients_only",
        "",
    ),
    (
        "unknown service in the HSA/FSA list",
        lambda c: _section(c)["hsa_fsa_eligible"].append("massage"),
        "payments.hsa_fsa_eligible[3]",
        "unknown service 'massage'",
    ),
    (
        "the same item twice in a package",
        lambda c: _section(c, "packages", "alt_med_followups")["includes"].append(
            {"service": "alternative_medicine", "visit_type": "followup", "visits": 2}
        ),
        "payments.packages.alt_med_followups.includes[1]",
        "alternative_medicine followup is listed twice; keep one entry and add up its visits",
    ),
    (
        "misspelt count",
        lambda c: _section(c, "multi_service_discount").update(count="services"),
        "payments.multi_service_discount.count",
        "must be distinct_services or items, not 'services'",
    ),
    (
        "zero valid days",
        lambda c: _section(c, "packages", "gaps_starter").update(valid_days=0),
        "payments.packages.gaps_starter.valid_days",
        "must be a whole number of days of at least 1, not 0",
    ),
    (
        "malformed tax id",
        lambda c: _section(c, "billing").update(tax_id="123456789"),
        "payments.billing.tax_id",
        'must be an EIN in quotes like "12-3456789", or TBD',
    ),
    (
        "misspelt key",
        lambda c: _section(c, "cancellation").update(full_refund_hrs=12),
        "payments.cancellation.full_refund_hrs",
        "unknown key 'full_refund_hrs'; allowed: full_refund_hours, late_cancel_fee, "
        "no_show_fee, return_credit_on_late_cancel (did you mean 'full_refund_hours'?)",
    ),
    (
        "TBD fixed fee",
        lambda c: _section(c, "cancellation").update(late_cancel_fee={"amount": "TBD"}),
        "payments.cancellation.late_cancel_fee.amount",
        "TBD is not allowed here",
    ),
]


@pytest.mark.parametrize(
    ("breaker", "key_path", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_payments_mistake_is_named_with_what_to_change(
    tmp_path: Path, breaker: Breaker, key_path: str, words: str
) -> None:
    config = shipped()
    breaker(config)
    assert_refused(config, tmp_path, key_path, words)
