"""Every column sealed with the key ring, across contexts: what `clinicflow keys` re-encrypts
and counts before a key may be retired, and what start-up counts to know whether the key file
can open the database. A column sealed anywhere must be listed here, or retiring a key would
leave its values undecryptable (tests check every `*_enc` column is). Each value is bound to
its row by the listed row column, which the contexts use when they seal."""

from __future__ import annotations

from clinicflow.identity import SIGNING_CONTEXT, TOTP_CONTEXT
from clinicflow.identity.tables import signing_keys, users
from clinicflow.infra.rekey import SealedColumns
from clinicflow.notifications.domain.push import SEALED_COLUMNS as PUSH_COLUMNS
from clinicflow.notifications.domain.push import seal_context as push_context
from clinicflow.notifications.tables import push_subscriptions
from clinicflow.patients.tables import PHI_COLUMNS, patients, seal_context
from clinicflow.waitlist.tables import PHI_COLUMNS as WAITLIST_COLUMNS
from clinicflow.waitlist.tables import entries as waitlist_entries
from clinicflow.waitlist.tables import seal_context as waitlist_context
from clinicflow.webhooks.domain.secrets import SECRET_COLUMNS
from clinicflow.webhooks.domain.secrets import seal_context as webhook_context
from clinicflow.webhooks.tables import subscriptions

SEALED: tuple[SealedColumns, ...] = (
    SealedColumns(patients, "id", PHI_COLUMNS, seal_context),
    SealedColumns(users, "id", ("totp_secret_enc",), lambda _: TOTP_CONTEXT),
    SealedColumns(signing_keys, "kid", ("private_key_enc",), lambda _: SIGNING_CONTEXT),
    SealedColumns(subscriptions, "id", SECRET_COLUMNS, webhook_context),
    # Bound to the endpoint's hash: an upsert keeps the row's id (notifications/push/).
    SealedColumns(push_subscriptions, "id", PUSH_COLUMNS, push_context, "endpoint_hash"),
    SealedColumns(waitlist_entries, "id", WAITLIST_COLUMNS, waitlist_context),
)

__all__ = ["SEALED"]
