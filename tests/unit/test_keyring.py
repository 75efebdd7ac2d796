"""The key ring's rotation arithmetic and row binding (pure), and a live ring following its
key file (temporary files)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clinicflow.infra.crypto import (
    DecryptionError,
    KeyRing,
    KeyRingError,
    create,
    is_bound,
    key_id_of,
    load,
    save,
)
from clinicflow.infra.live_keys import LiveKeyRing

NAME = "patients_patient.first_name"
ROW = "patient-1"


def test_a_new_active_key_seals_from_now_on_and_old_keys_still_decrypt() -> None:
    old = KeyRing.generate()
    token = old.encrypt("Ada", context=NAME, row=ROW)

    new = old.with_new_active_key()

    assert new.active != old.active
    assert set(new.keys) == {old.active, new.active}
    assert len(new.keys[new.active]) == 32
    assert new.decrypt(token, context=NAME, row=ROW) == "Ada"
    assert key_id_of(new.encrypt("Ada", context=NAME, row=ROW)) == new.active


def test_rotation_keeps_the_blind_index_key() -> None:
    old = KeyRing.generate()
    new = old.with_new_active_key()

    assert new.index_key == old.index_key
    assert new.blind_index("a@b.c", context="x") == old.blind_index("a@b.c", context="x")


def test_rotation_leaves_the_original_ring_unchanged() -> None:
    old = KeyRing.generate()
    old.with_new_active_key()

    assert list(old.keys) == [old.active]


def test_retiring_removes_a_key_so_its_values_no_longer_decrypt() -> None:
    old = KeyRing.generate()
    token = old.encrypt("Ada", context=NAME, row=ROW)
    ring = old.with_new_active_key()

    retired = ring.retire(old.active)

    assert set(retired.keys) == {ring.active}
    assert retired.active == ring.active
    with pytest.raises(DecryptionError, match="not in the key ring"):
        retired.decrypt(token, context=NAME, row=ROW)


def test_retiring_the_active_key_is_refused() -> None:
    ring = KeyRing.generate().with_new_active_key()

    with pytest.raises(KeyRingError, match="active key"):
        ring.retire(ring.active)


def test_retiring_an_unknown_key_is_refused() -> None:
    with pytest.raises(KeyRingError, match="not in the key ring"):
        KeyRing.generate().retire("knope")


def test_key_id_of_reads_the_sealing_key_without_decrypting() -> None:
    ring = KeyRing.generate()

    assert key_id_of(ring.encrypt("Ada", context=NAME, row=ROW)) == ring.active


@pytest.mark.parametrize("token", ["", "no-separator", ":body-without-key-id"])
def test_key_id_of_rejects_values_that_are_not_sealed(token: str) -> None:
    with pytest.raises(DecryptionError):
        key_id_of(token)


def test_needs_reseal_is_true_only_for_values_under_another_key() -> None:
    old = KeyRing.generate()
    new = old.with_new_active_key()

    assert new.needs_reseal(old.encrypt("Ada", context=NAME, row=ROW))
    assert not new.needs_reseal(new.encrypt("Ada", context=NAME, row=ROW))


def test_reseal_moves_a_value_to_the_active_key_and_keeps_its_plaintext() -> None:
    old = KeyRing.generate()
    new = old.with_new_active_key()

    resealed = new.reseal(old.encrypt("Ada", context=NAME, row=ROW), context=NAME, row=ROW)

    assert key_id_of(resealed) == new.active
    assert new.retire(old.active).decrypt(resealed, context=NAME, row=ROW) == "Ada"


def test_a_value_sealed_for_one_column_does_not_decrypt_as_another() -> None:
    ring = KeyRing.generate()
    token = ring.encrypt("Ada", context=NAME, row=ROW)

    with pytest.raises(DecryptionError, match=r"patients_patient\.last_name"):
        ring.decrypt(token, context="patients_patient.last_name", row=ROW)


def test_a_tampered_value_does_not_decrypt() -> None:
    ring = KeyRing.generate()
    token = ring.encrypt("Ada", context=NAME, row=ROW)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    with pytest.raises(DecryptionError):
        ring.decrypt(tampered, context=NAME, row=ROW)


def test_a_ring_round_trips_through_the_env_value_format() -> None:
    ring = KeyRing.generate().with_new_active_key()

    loaded = KeyRing.from_env_value(f"\n  {ring.to_json()}\n")

    assert loaded == ring


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(active="kmissing"), "active key"),
        (lambda d: d["keys"].update(short="c2hvcnQ="), "32 bytes"),
        (lambda d: d["keys"].update({"a:b": d["keys"][d["active"]]}), "contain no ':'"),
        (lambda d: d.update(index_key="c2hvcnQ="), "blind-index key"),
        (lambda d: d.pop("keys"), "expected shape"),
        (lambda d: d.update(index_key="not base64!"), "expected shape"),
    ],
)
def test_a_malformed_ring_is_refused_with_a_reason(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    data = json.loads(KeyRing.generate().to_json())
    change(data)

    with pytest.raises(KeyRingError, match=message):
        KeyRing.from_env_value(json.dumps(data))


def test_a_ring_that_is_not_json_is_refused_without_echoing_it() -> None:
    secret_text = '{"active": "k1", "keys": {"k1": "SECRETKEYMATERIAL'

    with pytest.raises(KeyRingError) as caught:
        KeyRing.from_env_value(secret_text)

    assert "SECRETKEYMATERIAL" not in str(caught.value)


def test_a_value_sealed_for_one_row_does_not_open_for_another() -> None:
    ring = KeyRing.generate()
    token = ring.encrypt("Ada", context=NAME, row="patient-1")

    assert is_bound(token)
    with pytest.raises(DecryptionError):
        ring.decrypt(token, context=NAME, row="patient-2")


def _legacy(ring: KeyRing, plaintext: str) -> str:
    """A value as sealed before row binding: the column's context only, no row mark."""
    nonce = os.urandom(12)
    body = AESGCM(ring.keys[ring.active]).encrypt(nonce, plaintext.encode(), NAME.encode())
    return f"{ring.active}:{base64.b64encode(nonce + body).decode()}"


def test_a_value_sealed_before_row_binding_opens_and_reseals_bound() -> None:
    ring = KeyRing.generate()
    old = _legacy(ring, "Ada")

    assert not is_bound(old)
    assert ring.needs_reseal(old)  # same key, but not yet bound to its row
    assert ring.decrypt(old, context=NAME, row=ROW) == "Ada"
    bound = ring.reseal(old, context=NAME, row=ROW)
    assert is_bound(bound)
    assert not ring.needs_reseal(bound)
    with pytest.raises(DecryptionError):
        ring.decrypt(bound, context=NAME, row="someone-else")


def test_a_live_ring_follows_the_key_file_through_rotate_and_retire(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    old = create(path)
    live = LiveKeyRing(path)
    sealed_old = live.encrypt("Ada", context=NAME, row=ROW)
    # Another process rotates: this one seals under the new key and opens its values.
    rotated = old.with_new_active_key()
    save(path, rotated)
    sealed_new = rotated.encrypt("Bea", context=NAME, row=ROW)

    assert live.decrypt(sealed_new, context=NAME, row=ROW) == "Bea"
    assert key_id_of(live.encrypt("Cy", context=NAME, row=ROW)) == rotated.active
    save(path, rotated.retire(old.active))
    assert live.encrypt("Di", context=NAME, row=ROW)  # noticed the retire too
    assert old.active not in live.keys
    with pytest.raises(DecryptionError, match="not in the key ring"):
        live.decrypt(sealed_old, context=NAME, row=ROW)


def test_a_live_ring_keeps_its_keys_when_the_file_goes_missing(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = create(path)
    live = LiveKeyRing(path)
    path.unlink()

    token = live.encrypt("Ada", context=NAME, row=ROW)

    assert live == ring
    assert live.decrypt(token, context=NAME, row=ROW) == "Ada"


def test_a_live_ring_keeps_the_keys_an_older_key_file_lacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The review's live.py: a config tool redeploys the key file as it was before a rotate.
    Values sealed under the newer key meanwhile keep opening; new ones go under the file's
    active key; the lost key ids are logged as an error."""
    path = tmp_path / "keys.json"
    old = create(path)
    live = LiveKeyRing(path)
    rotated = old.with_new_active_key()
    save(path, rotated)
    sealed_new = live.encrypt("Bea", context=NAME, row=ROW)
    assert key_id_of(sealed_new) == rotated.active

    save(path, old)  # the older file is back (a new inode: the live ring notices)
    sealed_after = live.encrypt("Cy", context=NAME, row="patient-2")  # any write refreshes

    assert live.decrypt(sealed_new, context=NAME, row=ROW) == "Bea"
    assert key_id_of(sealed_after) == old.active
    assert sorted(live.keys) == sorted({old.active, rotated.active})
    (lost,) = [r.getMessage() for r in caplog.records if "key_file_lost_keys" in r.getMessage()]
    assert rotated.active in lost
    assert base64.b64encode(rotated._current().keys[rotated.active]).decode() not in lost


def test_create_never_replaces_an_existing_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = create(path)

    with pytest.raises(KeyRingError, match="never overwritten"):
        create(path)
    assert load(path) == first


def test_a_staged_key_opens_but_seals_nothing_until_activated() -> None:
    ring = KeyRing.generate()
    staged = ring.with_new_key()
    (added,) = set(staged.keys) - set(ring.keys)

    assert staged.active == ring.active  # still sealing under the old key
    activated = staged.activate(added)
    token = activated.encrypt("Ada", context=NAME, row=ROW)
    assert key_id_of(token) == added
    assert staged.decrypt(token, context=NAME, row=ROW) == "Ada"  # a process with the staged file
    with pytest.raises(KeyRingError, match="not in the key ring"):
        ring.activate("knope")
