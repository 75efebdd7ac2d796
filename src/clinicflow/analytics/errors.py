"""The analytics context's errors."""

from __future__ import annotations

from clinicflow.shared.errors import Conflict


class LakeConflict(Conflict, code="lake_conflict"):
    """Another writer committed to the lake between this writer's read of the mark and its
    commit: nothing of this batch was kept; the next run starts from the new mark."""
