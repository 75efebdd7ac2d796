"""The key ring's rotation arithmetic: pure, no files, no database."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from clinicflow.infra.crypto import DecryptionError, KeyRing, KeyRingError, key_id_of

NAME = "patients_patient.first_name"


def test_a_new_active_key_seals_from_now_on_and_old_keys_still_decrypt() -> None:
    old = KeyRing.generate()
    token = old.encrypt("Ada", context=NAME)

    new = old.with_new_active_key()

    assert new.active != old.active
    assert set(new.keys) == {old.active, new.active}
    assert len(new.keys[new.active]) == 32
    assert new.decrypt(token, context=NAME) == "Ada"
    assert key_id_of(new.encrypt("Ada", context=NAME)) == new.active


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
    token = old.encrypt("Ada", context=NAME)
    ring = old.with_new_active_key()

    retired = ring.retire(old.active)

    assert set(retired.keys) == {ring.active}
    assert retired.active == ring.active
    with pytest.raises(DecryptionError, match="not in the key ring"):
        retired.decrypt(token, context=NAME)


def test_retiring_the_active_key_is_refused() -> None:
    ring = KeyRing.generate().with_new_active_key()

    with pytest.raises(KeyRingError, match="active key"):
        ring.retire(ring.active)


def test_retiring_an_unknown_key_is_refused() -> None:
    with pytest.raises(KeyRingError, match="not in the key ring"):
        KeyRing.generate().retire("knope")


def test_key_id_of_reads_the_sealing_key_without_decrypting() -> None:
    ring = KeyRing.generate()

    assert key_id_of(ring.encrypt("Ada", context=NAME)) == ring.active


@pytest.mark.parametrize("token", ["", "no-separator", ":body-without-key-id"])
def test_key_id_of_rejects_values_that_are_not_sealed(token: str) -> None:
    with pytest.raises(DecryptionError):
        key_id_of(token)


def test_needs_reseal_is_true_only_for_values_under_another_key() -> None:
    old = KeyRing.generate()
    new = old.with_new_active_key()

    assert new.needs_reseal(old.encrypt("Ada", context=NAME))
    assert not new.needs_reseal(new.encrypt("Ada", context=NAME))


def test_reseal_moves_a_value_to_the_active_key_and_keeps_its_plaintext() -> None:
    old = KeyRing.generate()
    new = old.with_new_active_key()

    resealed = new.reseal(old.encrypt("Ada", context=NAME), context=NAME)

    assert key_id_of(resealed) == new.active
    assert new.retire(old.active).decrypt(resealed, context=NAME) == "Ada"


def test_a_value_sealed_for_one_column_does_not_decrypt_as_another() -> None:
    ring = KeyRing.generate()
    token = ring.encrypt("Ada", context=NAME)

    with pytest.raises(DecryptionError, match=r"patients_patient\.last_name"):
        ring.decrypt(token, context="patients_patient.last_name")


def test_a_tampered_value_does_not_decrypt() -> None:
    ring = KeyRing.generate()
    token = ring.encrypt("Ada", context=NAME)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    with pytest.raises(DecryptionError):
        ring.decrypt(tampered, context=NAME)


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
