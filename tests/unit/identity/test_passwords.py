"""Password hashing and policy: argon2id, never raising on bad input."""

from __future__ import annotations

import pytest

from clinicflow.identity.passwords import (
    check_password_policy,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)

GOOD = "correct horse battery staple"


def test_a_hashed_password_verifies_and_a_different_one_does_not() -> None:
    stored = hash_password(GOOD)

    assert stored.startswith("$argon2id$")
    assert GOOD not in stored
    assert verify_password(stored, GOOD)
    assert not verify_password(stored, GOOD + "!")


def test_hashing_the_same_password_twice_uses_different_salts() -> None:
    assert hash_password(GOOD) != hash_password(GOOD)


@pytest.mark.parametrize("stored", ["", "plaintext", "$argon2id$v=19$broken", "$2b$12$abc"])
def test_a_malformed_stored_hash_fails_verification_without_raising(stored: str) -> None:
    assert not verify_password(stored, GOOD)


def test_a_hash_made_with_current_parameters_needs_no_rehash() -> None:
    assert not needs_rehash(hash_password(GOOD))


def test_a_hash_with_weaker_parameters_needs_rehash() -> None:
    weak = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$rJcYHnxNwiYOSPJ7WnOdxw"

    assert needs_rehash(weak)
    assert needs_rehash("not a hash")


def test_the_dummy_hash_is_computed_once_and_matches_no_real_password() -> None:
    assert dummy_hash() is dummy_hash()
    assert not verify_password(dummy_hash(), GOOD)


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
