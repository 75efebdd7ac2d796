"""Payments' pure core: prices, package credits, promotion codes and refunds.

Plain data and functions over the catalog's configuration (`catalog.domain`); no I/O, no clock
(every function takes `now` or the instants it needs), integer cents throughout.
"""

from clinicflow.payments.domain.discounts import MULTI_SERVICE, Discount, DiscountKind, qualifies
from clinicflow.payments.domain.errors import (
    CreditNotReturnable,
    CreditUnavailable,
    InvalidRefundOverride,
    PromotionExpired,
    PromotionNotApplicable,
    PromotionNotStarted,
    PromotionPatientLimitReached,
    PromotionRejected,
    PromotionUsedUp,
    UnknownCredit,
    UnknownPriceItem,
    UnknownPromotionCode,
)
from clinicflow.payments.domain.money import allocate, dollars, percent_of, rate_of
from clinicflow.payments.domain.packages import Credit
from clinicflow.payments.domain.pricing import (
    Line,
    PackageLine,
    Quote,
    QuoteLine,
    Unpriceable,
    VisitLine,
    quote,
)
from clinicflow.payments.domain.promotions import PromoUsage
from clinicflow.payments.domain.refunds import (
    Fee,
    RefundDecision,
    RefundRule,
    StaffOverride,
    cancellation_fee,
    refund_for,
)

__all__ = [
    "MULTI_SERVICE",
    "Credit",
    "CreditNotReturnable",
    "CreditUnavailable",
    "Discount",
    "DiscountKind",
    "Fee",
    "InvalidRefundOverride",
    "Line",
    "PackageLine",
    "PromoUsage",
    "PromotionExpired",
    "PromotionNotApplicable",
    "PromotionNotStarted",
    "PromotionPatientLimitReached",
    "PromotionRejected",
    "PromotionUsedUp",
    "Quote",
    "QuoteLine",
    "RefundDecision",
    "RefundRule",
    "StaffOverride",
    "UnknownCredit",
    "UnknownPriceItem",
    "UnknownPromotionCode",
    "Unpriceable",
    "VisitLine",
    "allocate",
    "cancellation_fee",
    "dollars",
    "percent_of",
    "qualifies",
    "quote",
    "rate_of",
    "refund_for",
]
