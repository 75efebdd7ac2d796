"""Payments: what an order costs, package credits, promotion codes, refunds.

Other contexts use only what is exported here. The pure core is `payments.domain`; its
`packages` and `promotions` modules hold the credit and promotion-code functions
(`packages.grant`, `packages.consume`, `packages.return_visit`, `promotions.find`, …).
The configuration it prices from is the catalog's `PaymentsConfig` (config/clinic.yaml
`payments:`); docs/pricing.md explains the rules.
"""

from clinicflow.payments.domain import (
    Credit,
    PackageLine,
    PromoUsage,
    Quote,
    RefundDecision,
    StaffOverride,
    VisitLine,
    quote,
    refund_for,
)
from clinicflow.payments.domain import packages as packages
from clinicflow.payments.domain import promotions as promotions

__all__ = [
    "Credit",
    "PackageLine",
    "PromoUsage",
    "Quote",
    "RefundDecision",
    "StaffOverride",
    "VisitLine",
    "packages",
    "promotions",
    "quote",
    "refund_for",
]
