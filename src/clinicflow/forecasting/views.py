"""What the forecasting use cases answer: registry entries, cached risks, and summaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One trained model in the registry: enough to say what it learnt from and to predict
    again with it (the artifact)."""

    id: str
    kind: str  # no_show | churn
    version: int
    trained_at: datetime
    window_start: datetime
    window_end: datetime
    features: tuple[str, ...]
    metrics: dict[str, object]
    data_hash: str
    artifact_sha256: str
    artifact: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Reason:
    feature: str
    value: str
    weight: float  # SHAP contribution, log-odds


@dataclass(frozen=True, slots=True)
class Prediction:
    """A cached prediction: a booking's no-show risk or a patient's churn risk for a service."""

    kind: str
    subject: str  # booking id (no_show) or patient key (churn)
    service: str
    at: datetime | None  # the booking's start (no_show)
    score: float
    reasons: tuple[Reason, ...]
    model_id: str
    made_at: datetime
    ref: str | None = None  # churn: the patient's latest booking id (to find them by)


@dataclass(frozen=True, slots=True)
class NoShowRisk:
    booking_id: str
    service: str
    practitioner: str | None
    start: datetime
    risk: float
    reasons: tuple[Reason, ...]

    @classmethod
    def of(cls, p: Prediction) -> NoShowRisk:
        """A cached no-show prediction as staff read it."""
        return cls(
            booking_id=p.subject,
            service=p.service,
            practitioner=p.ref,
            start=p.at or p.made_at,
            risk=p.score,
            reasons=p.reasons,
        )


@dataclass(frozen=True, slots=True)
class ChurnRisk:
    patient_id: str
    name: str | None
    service: str
    risk: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class RiskSummary:
    """Aggregates only, for analysts: per kind and service, how many and how risky."""

    kind: str
    service: str
    count: int
    mean_risk: float
    high_risk: int  # at or above the threshold


@dataclass(frozen=True, slots=True)
class Evaluation:
    """`clinicflow ml evaluate --json`'s figures, per model."""

    no_show: dict[str, object]
    churn: dict[str, object]
