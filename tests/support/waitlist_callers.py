"""What the waitlist entry's use-case tests (tests/unit/waitlist/test_entries_*_service.py) share:
a signed-in patient and the preferences a caller gives.
"""

from __future__ import annotations

from clinicflow.shared.actor import Actor, Role
from clinicflow.waitlist.entries.commands import Preferences

PATIENT = Actor(kind="patient", id="patient-7", role=Role.PATIENT, patient_id="patient-7")


def prefs(**given: object) -> Preferences:
    return Preferences(given=frozenset(given), **given)  # type: ignore[arg-type]
