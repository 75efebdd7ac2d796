"""Sealing patient fields: each value bound to its column and its patient's row (so a value
copied into another record does not open there), plus blind indexes."""

from __future__ import annotations

from clinicflow.infra.crypto import KeyRing
from clinicflow.patients.tables import seal_context


class PatientCipher:
    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    def seal(self, value: str | None, column: str, patient_id: str) -> str | None:
        if value is None or value == "":
            return None
        return self._keys.encrypt(value, context=seal_context(column), row=patient_id)

    def open(self, token: str | None, column: str, patient_id: str) -> str | None:
        if token is None:
            return None
        return self._keys.decrypt(token, context=seal_context(column), row=patient_id)

    def move(self, token: str | None, column: str, source_id: str, target_id: str) -> str | None:
        """A value of one record sealed anew for another (a merge copies contact details)."""
        return self.seal(self.open(token, column, source_id), column, target_id)

    def index(self, value: str | None, column: str) -> str | None:
        if not value:
            return None
        return self._keys.blind_index(value, context=seal_context(column))
