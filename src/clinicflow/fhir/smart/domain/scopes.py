"""SMART system scopes: which the FHIR API grants, and what each lets a client do.

A SMART token's actor carries its SMART scopes and the clinicflow scopes they stand for, so
the same use cases as the API decide with the same rules (booking's `bookings:read` …); the
FHIR routes check the SMART scope of the resource first.
"""

from __future__ import annotations

from clinicflow.shared.actor import Scope

APPOINTMENT_READ = "system/Appointment.read"
APPOINTMENT_WRITE = "system/Appointment.write"
SLOT_READ = "system/Slot.read"
PATIENT_READ = "system/Patient.read"

# SMART scope → the clinicflow scopes the use cases check (Slot.read needs none: open
# times are public, as GET /v1/availability is).
SUPPORTED: dict[str, frozenset[str]] = {
    APPOINTMENT_READ: frozenset({Scope.BOOKINGS_READ.value}),
    APPOINTMENT_WRITE: frozenset({Scope.BOOKINGS_WRITE.value}),
    SLOT_READ: frozenset(),
    PATIENT_READ: frozenset({Scope.PATIENTS_READ.value}),
}


class ScopeRefused(ValueError):
    pass


def parse(text: str) -> list[str]:
    """Registered or requested scopes, each one SMART supports here, sorted."""
    wanted = sorted(set(text.split()))
    unknown = [s for s in wanted if s not in SUPPORTED]
    if unknown:
        raise ScopeRefused(
            f"scope {' '.join(unknown)} is not offered; use {' '.join(sorted(SUPPORTED))}"
        )
    return wanted


def granted(registered: list[str], requested: str) -> list[str]:
    """The scopes a token gets: those asked for, each registered to the client."""
    wanted = parse(requested)
    if not wanted:
        raise ScopeRefused("ask for at least one scope")
    beyond = sorted(set(wanted) - set(registered))
    if beyond:
        raise ScopeRefused(
            f"scope {' '.join(beyond)} is not registered to this client; ask for a subset of "
            f"{' '.join(registered) or '(none)'}"
        )
    return wanted


def actor_scopes(smart: list[str]) -> frozenset[str]:
    """The SMART scopes and the clinicflow scopes they stand for."""
    return frozenset(smart).union(*(SUPPORTED[s] for s in smart if s in SUPPORTED))
