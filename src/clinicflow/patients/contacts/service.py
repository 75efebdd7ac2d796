"""Consent changes that arrive from a phone rather than from a person at the clinic: a STOP
(or START) texted back to the clinic's number. Notifications' `ConsentRegistry` port; the
rule is `domain.consent.texted`.
"""

from __future__ import annotations

from datetime import datetime

from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.patients.domain.consent import texted
from clinicflow.patients.domain.contact import InvalidContact, normalize_phone
from clinicflow.patients.guard import PatientGuard, access
from clinicflow.patients.ports import PatientsUnitOfWork
from clinicflow.shared.actor import SYSTEM


class SmsConsent:
    def __init__(self, *, uow: UnitsOfWork[PatientsUnitOfWork], guard: PatientGuard) -> None:
        self._uow = uow
        self._guard = guard

    async def withdraw_sms(self, phone_e164: str, at: datetime) -> int:
        return await self._change(phone_e164, False, at)

    async def restore_sms(self, phone_e164: str, at: datetime) -> int:
        return await self._change(phone_e164, True, at)

    async def _change(self, phone: str, opt_in: bool, at: datetime) -> int:
        """How many records changed; every record with the number is changed."""
        try:
            normalized = normalize_phone(phone)
        except InvalidContact:
            return 0  # a short code or an alphanumeric sender is no patient's number
        changed = 0
        async with self._uow() as uow:
            holders = await uow.patients.consents_by_phone(normalized)
            for consents in holders:
                prefs = texted(consents.prefs, opt_in, at)
                if prefs is not None:
                    await uow.patients.set_consents(consents, prefs, at)
                    changed += 1
            # Each patient found by the number is an access, changed or not.
            self._guard.record(
                uow,
                SYSTEM,
                "sms_opt_in" if opt_in else "sms_opt_out",
                [access(c.patient_id) for c in holders],
                reason=f"{'START' if opt_in else 'STOP'} texted from the patient's number",
            )
            await uow.commit()
        return changed
