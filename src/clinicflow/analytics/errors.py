"""The analytics context's errors."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict, InvalidRequest, NotFound


class LakeConflict(Conflict, code="lake_conflict"):
    """Another writer committed to the lake between this writer's read of the mark and its
    commit: nothing of this batch was kept; the next run starts from the new mark."""


class UnknownMetric(NotFound, code="unknown_metric"):
    """No metric has that name (the names: docs/analytics.md "Metrics")."""


class InvalidQuestion(InvalidRequest, code="invalid_question"):
    """The metric cannot answer the question as asked: a grouping, view or parameter it does
    not have, or a period the wrong way round or too long."""
