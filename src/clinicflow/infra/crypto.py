"""Field encryption for PHI at rest: AES-256-GCM with a key ring, plus blind indexes.

Each ciphertext names the key that sealed it (`<key id>:<base64 nonce+ciphertext>`), so keys
can be added and old ones keep decrypting until retired. The column name is bound in as
associated data: a value copied into another column does not decrypt. Lookups go through a
keyed HMAC of the normalized value (a blind index), never through the plaintext.

Rotation changes only the encryption keys. The blind-index key stays the same: every
`*_bidx` column (and secrets derived from it, such as the booking idempotency secret) is an
HMAC under it, so rotating it means recomputing every index at once while lookups are
offline or doubled. That is a separate operation for later, not part of `keys rotate`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

_KEY_BYTES = 32
_NONCE_BYTES = 12


class DecryptionError(Exception):
    pass


class KeyRingError(ValueError):
    """A key ring that is malformed, or an operation on it that would lose data."""


class KeyFileBusy(RuntimeError):
    """Another process is rotating or retiring keys in the same key file."""


def key_id_of(token: str) -> str:
    """The id of the key that sealed `token`, read without decrypting."""
    key_id, sep, _ = token.partition(":")
    if not sep or not key_id:
        raise DecryptionError("value is not a sealed field (no key id)")
    return key_id


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]  # key id -> 32-byte AES key
    active: str
    index_key: bytes

    def __post_init__(self) -> None:
        _validate(self.keys, self.active, self.index_key)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{self.active}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        key_id = key_id_of(token)
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(f"key {key_id!r} is not in the key ring")
        try:
            raw = base64.b64decode(token[len(key_id) + 1 :], validate=True)
            return (
                AESGCM(key)
                .decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
                .decode()
            )
        except (InvalidTag, binascii.Error, ValueError) as exc:
            # One error type for callers; the message names the context, never the value.
            raise DecryptionError(f"value does not decrypt as {context!r}") from exc

    def needs_reseal(self, token: str) -> bool:
        return key_id_of(token) != self.active

    def reseal(self, token: str, *, context: str) -> str:
        return self.encrypt(self.decrypt(token, context=context), context=context)

    def blind_index(self, normalized: str, *, context: str) -> str:
        message = f"{context}\x00{normalized}".encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()

    def with_new_active_key(self) -> KeyRing:
        """A ring with a fresh key sealing from now on; every older key still decrypts."""
        key_id = _new_key_id(self.keys)
        keys = {**self.keys, key_id: AESGCM.generate_key(bit_length=256)}
        return KeyRing(keys, key_id, self.index_key)

    def retire(self, key_id: str) -> KeyRing:
        """A ring without `key_id`. Callers must first check no ciphertext still uses it."""
        if key_id not in self.keys:
            raise KeyRingError(f"key {key_id!r} is not in the key ring")
        if key_id == self.active:
            raise KeyRingError(f"key {key_id!r} is the active key; rotate before retiring it")
        keys = {k: v for k, v in self.keys.items() if k != key_id}
        return KeyRing(keys, self.active, self.index_key)

    @classmethod
    def generate(cls) -> KeyRing:
        key_id = _new_key_id({})
        return cls({key_id: AESGCM.generate_key(bit_length=256)}, key_id, secrets.token_bytes(32))

    def to_json(self) -> str:
        return json.dumps(
            {
                "active": self.active,
                "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
                "index_key": base64.b64encode(self.index_key).decode(),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        try:
            data: Any = json.loads(text)
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
            return cls(
                keys, str(data["active"]), base64.b64decode(data["index_key"], validate=True)
            )
        except KeyRingError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Name the problem's type only: the text holds secret keys.
            raise KeyRingError(
                f"key ring is not JSON of the expected shape ({type(exc).__name__})"
            ) from exc

    @classmethod
    def from_env_value(cls, text: str) -> KeyRing:
        """Production keys from a setting or secret store: the same JSON as the key file."""
        return cls.from_json(text.strip())


def _validate(keys: dict[str, bytes], active: str, index_key: bytes) -> None:
    if active not in keys:
        raise KeyRingError(f"active key {active!r} is not in the key ring")
    for key_id, key in keys.items():
        # ":" separates the key id from the body in every ciphertext.
        if not key_id or ":" in key_id:
            raise KeyRingError(f"key id {key_id!r} must be non-empty and contain no ':'")
        if len(key) != _KEY_BYTES:
            raise KeyRingError(f"key {key_id!r} must be {_KEY_BYTES} bytes (AES-256)")
    if len(index_key) != _KEY_BYTES:
        raise KeyRingError(f"the blind-index key must be {_KEY_BYTES} bytes")


def _new_key_id(taken: dict[str, bytes]) -> str:
    while True:
        key_id = f"k{secrets.token_hex(4)}"
        if key_id not in taken:
            return key_id


def load(path: Path) -> KeyRing:
    """Read an existing key ring; never creates one (rotating a fresh ring would lose data)."""
    return KeyRing.from_json(path.read_text())


def save(path: Path, ring: KeyRing) -> None:
    """Replace the key file atomically: readers see the old ring or the new, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)  # mkstemp already uses 0600; say so explicitly for auditors
        with os.fdopen(fd, "w") as handle:
            handle.write(ring.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # The rename itself is only durable once the directory entry reaches the disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def key_file_lock(path: Path) -> Iterator[None]:
    """Exclusive across processes: two rotations at once would each drop the other's new key."""
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise KeyFileBusy(f"another key operation holds {lock_path}; try again later") from exc
        yield
    finally:
        os.close(fd)  # closing releases the lock


def load_or_create(path: Path) -> KeyRing:
    """Read the key ring; the embedded default makes one on first run (with a warning)."""
    if path.exists():
        return KeyRing.from_json(path.read_text())
    ring = KeyRing.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ring.to_json())
    log.warning(
        "created a local PHI key file at %s: back it up, and give production its keys "
        "through CLINICFLOW_KEYS_FILE from a secret store",
        path,
    )
    return ring
