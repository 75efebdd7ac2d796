"""Staff passwords: argon2id hashes (argon2-cffi defaults) and a length-first policy."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
# Long enough for any passphrase or password manager, short enough that hashing stays cheap.
MAX_LENGTH = 1024
# Shorter usernames ("al") occur inside ordinary words, so only equality is refused for them.
_MIN_USERNAME_TO_SEARCH = 3

_hasher = PasswordHasher()


def hash_password(plain: str) -> str:
    return _hasher.hash(plain)


def verify_password(stored: str, plain: str) -> bool:
    try:
        return _hasher.verify(stored, plain)
    except (VerificationError, InvalidHashError):
        # VerifyMismatchError is a VerificationError; a corrupt stored hash is InvalidHashError.
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@functools.cache
def dummy_hash() -> str:
    # Verifying against this when the username is unknown makes that login take as long as
    # a wrong password, so response time does not reveal which usernames exist.
    return _hasher.hash("clinicflow dummy password for timing")


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
