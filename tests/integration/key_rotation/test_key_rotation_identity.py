"""Key rotation over a real, migrated database: SQLite, and PostgreSQL when reachable (helpers:
support/sealed_patients.py; the db and key_file fixtures: this folder's conftest.py). Identity's
secrets: rotate and retire keep TOTP secrets and signing keys working, and retire is refused
while an identity secret is under the key.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinicflow.bootstrap import build
from clinicflow.identity import TOTP_CONTEXT
from clinicflow.identity.tables import users
from clinicflow.identity.users.domain import totp
from clinicflow.infra.crypto import KeyRing, load, save
from clinicflow.infra.db import Database
from clinicflow.infra.rekey import KeyStillInUse, count_by_key, retire, rotate
from clinicflow.sealed import SEALED
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.sealed_patients import STAFF_PASSWORD, file_bytes

# Key rotation rewrites sealed columns in batches, in each dialect's SQL.
pytestmark = pytest.mark.both_databases


async def staff_totp_secret(db: Database, keys: KeyRing) -> str:
    async with db.read() as conn:
        user_id, sealed = (await conn.execute(select(users.c.id, users.c.totp_secret_enc))).one()
    return keys.decrypt(sealed, context=TOTP_CONTEXT, row=user_id)


async def test_rotate_and_retire_keep_totp_secrets_and_signing_keys_working(
    db: Database, settings: Settings, clock: FixedClock
) -> None:
    container = build(settings, clock=clock)
    try:
        old = container.keys
        await container.identity.users.create("boss", "admin", STAFF_PASSWORD)
        kid = await container.identity.tokens.rotate()
        client, api_key = await container.identity.apikeys.create("x", "y", ["bookings:read"])
        secret = api_key.removeprefix(f"cfk_{client.id}_")
        issued = await container.identity.tokens.client_credentials(client.id, secret, None)
    finally:
        await container.aclose()
    totp_secret = await staff_totp_secret(db, old)
    key_file = settings.resolved_keys_file

    report = await rotate(db, SEALED, key_file)
    remaining = await retire(db, SEALED, key_file, old.active)

    assert report.reseal.values_by_table == {"identity_user": 1, "identity_signing_key": 1}
    assert report.counts == {remaining.active: 2}
    assert old.active not in remaining.keys
    assert await staff_totp_secret(db, remaining) == totp_secret
    rebuilt = build(settings, clock=clock)  # a restarted process, reading the rotated file
    try:
        assert rebuilt.keys == remaining
        assert [k["kid"] for k in (await rebuilt.identity.tokens.jwks())["keys"]] == [kid]
        claims, verified = await rebuilt.identity.tokens.verify(issued.access_token)
        assert claims["sub"] == verified.id == client.id
        code = totp.code_at(totp_secret, clock.now())
        _, signed_in = await rebuilt.identity.users.login("boss", STAFF_PASSWORD, code)
        assert signed_in.username == "boss"
    finally:
        await rebuilt.aclose()


@pytest.mark.parametrize(
    ("sealed_in", "table"),
    [("totp", "identity_user"), ("signing_key", "identity_signing_key")],
)
async def test_retire_is_refused_while_an_identity_secret_is_under_the_key(
    db: Database, settings: Settings, clock: FixedClock, sealed_in: str, table: str
) -> None:
    container = build(settings, clock=clock)
    try:
        if sealed_in == "totp":
            await container.identity.users.create("boss", "admin", STAFF_PASSWORD)
        else:
            await container.identity.tokens.rotate()
    finally:
        await container.aclose()
    key_file = settings.resolved_keys_file
    old = load(key_file)
    save(key_file, old.with_new_active_key())  # a new key, but nothing resealed yet
    file_before = file_bytes(key_file)

    with pytest.raises(KeyStillInUse) as refused:
        await retire(db, SEALED, key_file, old.active)

    assert "1 encrypted values still use key" in refused.value.detail
    assert f"({table}: 1)" in refused.value.detail
    assert file_bytes(key_file) == file_before
    assert await count_by_key(db, SEALED) == {old.active: 1}
