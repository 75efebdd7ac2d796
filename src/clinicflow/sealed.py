"""Every column sealed with the key ring, across contexts: what `clinicflow keys` re-encrypts
and counts before a key may be retired. A column sealed anywhere must be listed here, or
retiring a key would leave its values undecryptable (tests check every `*_enc` column is)."""

from __future__ import annotations

from clinicflow.identity.oauth import SIGNING_CONTEXT
from clinicflow.identity.tables import signing_keys, users
from clinicflow.identity.users import TOTP_CONTEXT
from clinicflow.infra.rekey import SealedColumns
from clinicflow.patients.tables import PHI_COLUMNS, patients, seal_context

SEALED: tuple[SealedColumns, ...] = (
    SealedColumns(patients, "id", PHI_COLUMNS, seal_context),
    SealedColumns(users, "id", ("totp_secret_enc",), lambda _: TOTP_CONTEXT),
    SealedColumns(signing_keys, "kid", ("private_key_enc",), lambda _: SIGNING_CONTEXT),
)

__all__ = ["SEALED"]
