"""The waitlist's use cases over in-memory units of work (`support.fake_waitlist`): the
clinic of the launch tests (counseling's durations and prices decided; its counselor works
Mondays 10–12), the clock at Tuesday 2026-11-24 09:00 in the clinic."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicflow.catalog import Catalog
from clinicflow.catalog.service import load_catalog
from clinicflow.shared.clock import FixedClock
from support.fake_waitlist import FakeWaitlist, build
from support.waitlist import clinic_yaml


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog(clinic_yaml(tmp_path))


@pytest.fixture
def fake(clock: FixedClock, catalog: Catalog) -> FakeWaitlist:
    return build(clock, catalog)
