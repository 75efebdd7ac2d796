"""Sealing waitlist fields, each value bound to its column and its entry's row, plus blind
indexes.

The indexes are keyed per column of this table: a waitlist email index never equals the
patients' index of the same email, so one table's indexes say nothing about the other's."""

from __future__ import annotations

from clinicflow.infra.crypto import KeyRing
from clinicflow.waitlist.tables import seal_context


class WaitlistCipher:
    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    def seal(self, value: str | None, column: str, entry_id: str) -> str | None:
        if not value:
            return None
        return self._keys.encrypt(value, context=seal_context(column), row=entry_id)

    def open(self, token: str | None, column: str, entry_id: str) -> str | None:
        if token is None:
            return None
        return self._keys.decrypt(token, context=seal_context(column), row=entry_id)

    def index(self, value: str | None, column: str) -> str | None:
        if not value:
            return None
        return self._keys.blind_index(value, context=seal_context(column))
