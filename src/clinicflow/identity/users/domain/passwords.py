"""Staff passwords: argon2id hashes at a chosen strength, and a length-first policy."""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
# Long enough for any passphrase or password manager, short enough that hashing stays cheap.
MAX_LENGTH = 1024
# Shorter usernames ("al") occur inside ordinary words, so only equality is refused for them.
_MIN_USERNAME_TO_SEARCH = 3

# "strong" is RFC 9106's low-memory profile (argon2-cffi's default: 64 MiB, 3 passes, 4 lanes).
# "insecure-fast" is argon2id at its floor, for the test suite only: thousands of test users
# would otherwise spend most of its time hashing. A hash made at either strength verifies at
# the other, and signing in at "strong" rehashes a weaker one.
Strength = Literal["strong", "insecure-fast"]
_PARAMETERS = {
    "strong": profiles.RFC_9106_LOW_MEMORY,
    "insecure-fast": dataclasses.replace(
        profiles.RFC_9106_LOW_MEMORY, time_cost=1, memory_cost=8, parallelism=1
    ),
}


class Passwords:
    """Hashes and verifies staff passwords with one set of argon2id parameters."""

    def __init__(self, strength: Strength = "strong") -> None:
        self._hasher = PasswordHasher.from_parameters(_PARAMETERS[strength])

    def hash(self, plain: str) -> str:
        return self._hasher.hash(plain)

    def verify(self, stored: str, plain: str) -> bool:
        try:
            return self._hasher.verify(stored, plain)
        except (VerificationError, InvalidHashError):
            # VerifyMismatchError is a VerificationError; a corrupt stored hash is InvalidHashError.
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    @functools.cached_property
    def dummy_hash(self) -> str:
        # Verifying against this when the username is unknown makes that login take as long as
        # a wrong password, so response time does not reveal which usernames exist.
        return self._hasher.hash("clinicflow dummy password for timing")


def check_password_policy(plain: str, username: str) -> list[str]:
    problems: list[str] = []
    if len(plain) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters (this password has {len(plain)}).")
    if len(plain) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    name = username.strip().casefold()
    folded = plain.casefold()
    if name and (folded == name or (len(name) >= _MIN_USERNAME_TO_SEARCH and name in folded)):
        problems.append("Do not use your username in your password.")
    if plain and len(set(plain)) == 1:
        problems.append("Use more than one distinct character.")
    return problems
