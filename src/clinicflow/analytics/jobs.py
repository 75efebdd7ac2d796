"""The analytics context's periodic job: the lake writer's run (`LakeWriter.run`), wired in
bootstrap/operations.py beside the other contexts' jobs."""

from __future__ import annotations

from datetime import timedelta

from clinicflow.analytics.service import LakeWriter
from clinicflow.infra.jobs import Job

LAKE_SYNC = "analytics_lake_sync"


def lake_job(writer: LakeWriter, every: timedelta) -> Job:
    return Job(LAKE_SYNC, every, writer.run)
