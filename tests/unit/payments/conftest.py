"""The payments unit tests' fixtures: the shipped clinic's catalog, and the payments use cases
wired to in-memory fakes (support/fake_payments.py)."""

from __future__ import annotations

import pytest

from clinicflow.catalog import Catalog
from clinicflow.shared.clock import FixedClock
from support.fake_payments import Payments


@pytest.fixture(scope="session")
def catalog(clinic_catalog: Catalog) -> Catalog:
    """config/clinic.yaml (frozen, so one for all the tests)."""
    return clinic_catalog


@pytest.fixture
def p(catalog: Catalog, clock: FixedClock) -> Payments:
    return Payments.build(catalog, clock)
