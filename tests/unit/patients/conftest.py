"""The patients context on in-memory units of work (`support.fake_patients`): no database."""

from __future__ import annotations

import pytest

from clinicflow.patients.contacts.service import SmsConsent
from clinicflow.patients.records.service import PatientReader, PatientService
from clinicflow.shared.clock import FixedClock
from support.fake_patients import NOW, FakePatients


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def world() -> FakePatients:
    return FakePatients()


@pytest.fixture
def service(world: FakePatients, clock: FixedClock) -> PatientService:
    return PatientService(uow=world.uow, clock=clock, guard=world.guard(clock))


@pytest.fixture
def reader(world: FakePatients, clock: FixedClock) -> PatientReader:
    return PatientReader(uow=world.uow, clock=clock, guard=world.guard(clock))


@pytest.fixture
def sms(world: FakePatients, clock: FixedClock) -> SmsConsent:
    return SmsConsent(uow=world.uow, guard=world.guard(clock))
