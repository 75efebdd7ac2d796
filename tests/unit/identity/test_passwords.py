"""Password hashing and policy: argon2id, never raising on bad input."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters

from clinicflow.identity.users.domain.passwords import Passwords, check_password_policy
from clinicflow.settings import Settings

GOOD = "correct horse battery staple"
# Production strength, whatever the suite's own setting (tests/conftest.py makes it cheap).
STRONG = Passwords("strong")


def test_production_settings_hash_at_rfc_9106_strength(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLINICFLOW_PASSWORD_HASHING", raising=False)

    made = Passwords(Settings().password_hashing).hash(GOOD)

    used = extract_parameters(made)
    assert made.startswith("$argon2id$")
    # RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes, 16-byte salt.
    assert (used.memory_cost, used.time_cost, used.parallelism) == (65536, 3, 4)
    assert (used.salt_len, used.hash_len) == (16, 32)


def test_a_fast_test_hash_still_verifies_and_is_rehashed_at_production_strength() -> None:
    fast = Passwords("insecure-fast").hash(GOOD)

    assert extract_parameters(fast).memory_cost < 65536
    assert STRONG.verify(fast, GOOD)
    assert STRONG.needs_rehash(fast)


def test_a_hashed_password_verifies_and_a_different_one_does_not() -> None:
    stored = STRONG.hash(GOOD)

    assert stored.startswith("$argon2id$")
    assert GOOD not in stored
    assert STRONG.verify(stored, GOOD)
    assert not STRONG.verify(stored, GOOD + "!")


def test_hashing_the_same_password_twice_uses_different_salts() -> None:
    assert STRONG.hash(GOOD) != STRONG.hash(GOOD)


@pytest.mark.parametrize("stored", ["", "plaintext", "$argon2id$v=19$broken", "$2b$12$abc"])
def test_a_malformed_stored_hash_fails_verification_without_raising(stored: str) -> None:
    assert not STRONG.verify(stored, GOOD)


def test_a_hash_made_with_current_parameters_needs_no_rehash() -> None:
    assert not STRONG.needs_rehash(STRONG.hash(GOOD))


def test_a_hash_with_weaker_parameters_needs_rehash() -> None:
    weak = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$rJcYHnxNwiYOSPJ7WnOdxw"

    assert STRONG.needs_rehash(weak)
    assert STRONG.needs_rehash("not a hash")


def test_the_dummy_hash_is_computed_once_and_matches_no_real_password() -> None:
    assert STRONG.dummy_hash is STRONG.dummy_hash
    assert extract_parameters(STRONG.dummy_hash).memory_cost == 65536
    assert not STRONG.verify(STRONG.dummy_hash, GOOD)


def test_a_long_varied_password_passes_the_policy() -> None:
    assert check_password_policy(GOOD, "ada") == []


@pytest.mark.parametrize(
    ("plain", "username", "complaint"),
    [
        ("short1!", "ada", "at least 12"),
        ("x" * 1025 + "y", "ada", "at most 1024"),
        ("lovelace.ADA.2026", "ada", "username"),
        ("Ada.Lovelace", "ada.lovelace", "username"),
        ("aaaaaaaaaaaaaaaa", "ada", "more than one distinct"),
    ],
)
def test_the_policy_names_each_problem(plain: str, username: str, complaint: str) -> None:
    problems = check_password_policy(plain, username)

    assert any(complaint in problem for problem in problems), problems


def test_a_very_short_username_is_refused_only_when_the_password_equals_it() -> None:
    assert check_password_policy("al is a great dancer", "al") == []
    assert any("username" in p for p in check_password_policy("al", "al"))
