"""Booking's use cases on the in-memory unit of work (`support.booking_clinic`): no database."""

from __future__ import annotations

import pytest

from support.booking_clinic import Clinic


@pytest.fixture
def clinic() -> Clinic:
    return Clinic()
