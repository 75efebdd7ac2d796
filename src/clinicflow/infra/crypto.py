"""Field encryption for PHI at rest: AES-256-GCM with a key ring, plus blind indexes.

Each ciphertext names the key that sealed it (`<key id>:r:<base64 nonce+ciphertext>`), so
keys can be added and old ones keep decrypting until retired. The associated data binds a
value to its place: the table and column (a value copied into another column does not
decrypt) and the row's key (nor into another patient's row). Values written before row
binding (`<key id>:<base64>`, column only) still open; `keys reseal` rewrites them bound.
Lookups go through a keyed HMAC of the normalized value (a blind index), never through the
plaintext.

A key file is made only on first set-up (`create`, refused over an existing file); the
composition root decides when that is (an empty database) and refuses to start when sealed
data names keys the file lacks. Running processes hold an `infra.live_keys.LiveKeyRing`,
which follows the file through rotations.

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
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clinicflow.infra.logging import get_logger

log = get_logger(__name__)

_KEY_BYTES = 32
_NONCE_BYTES = 12
# After the key id in a row-bound value; never in base64, so older values cannot carry it.
BOUND_MARK = "r:"


class DecryptionError(Exception):
    pass


class KeyRingError(ValueError):
    """A key ring that is malformed, or an operation on it that would lose data."""


class KeysUnavailable(KeyRingError):
    """The key file is missing, or lacks keys that sealed data in the database names: the
    process must not start (a new ring would make that data unreadable, and everything
    written meanwhile unreadable once the right file is back)."""


class KeyFileBusy(RuntimeError):
    """Another process is rotating or retiring keys in the same key file."""


def key_id_of(token: str) -> str:
    """The id of the key that sealed `token`, read without decrypting."""
    key_id, sep, _ = token.partition(":")
    if not sep or not key_id:
        raise DecryptionError("value is not a sealed field (no key id)")
    return key_id


def is_bound(token: str) -> bool:
    """Whether `token` is bound to its row (sealed since row binding), read without decrypting."""
    return token.partition(":")[2].startswith(BOUND_MARK)


@dataclass(frozen=True, slots=True)
class _Keys:
    keys: dict[str, bytes]  # key id -> 32-byte AES key
    active: str
    index_key: bytes


class KeyRing:
    """AES-256-GCM keys by id, the active one sealing; values opened by the key they name.

    Each value is bound to its place: the associated data is the column's context and the
    row's key, so a value copied into another column or another row does not open there.
    Values sealed before row binding (no `BOUND_MARK`) open with the column's context alone,
    until `keys reseal` rewrites them bound; keys made since never sealed such a value, so
    once the older keys are retired none opens at all."""

    __slots__ = ("_state",)

    def __init__(self, keys: dict[str, bytes], active: str, index_key: bytes) -> None:
        _validate(keys, active, index_key)
        self._state = _Keys(dict(keys), active, index_key)

    def _current(self) -> _Keys:
        return self._state

    def _sealing(self) -> _Keys:
        """The keys to seal with: the newest a live ring knows."""
        return self._current()

    def _key_for(self, key_id: str) -> bytes | None:
        return self._current().keys.get(key_id)

    @property
    def keys(self) -> dict[str, bytes]:
        return self._current().keys

    @property
    def active(self) -> str:
        return self._current().active

    @property
    def index_key(self) -> bytes:
        return self._current().index_key

    @property
    def audit_key(self) -> bytes:
        """The audit chain's HMAC key, derived from the blind-index key (which never rotates
        with the encryption keys, so the chain's rows keep verifying across rotations)."""
        return hmac.new(self.index_key, b"clinicflow audit chain", hashlib.sha256).digest()

    def encrypt(self, plaintext: str, *, context: str, row: str) -> str:
        state = self._sealing()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(state.keys[state.active]).encrypt(
            nonce, plaintext.encode(), _bound(context, row)
        )
        body = base64.b64encode(nonce + sealed).decode()
        return f"{state.active}:{BOUND_MARK}{body}"

    def decrypt(self, token: str, *, context: str, row: str) -> str:
        key_id = key_id_of(token)
        key = self._key_for(key_id)
        if key is None:
            raise DecryptionError(f"key {key_id!r} is not in the key ring")
        body = token[len(key_id) + 1 :]
        bound = body.startswith(BOUND_MARK)
        associated = _bound(context, row) if bound else context.encode()
        try:
            raw = base64.b64decode(body.removeprefix(BOUND_MARK), validate=True)
            return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            # One error type for callers; the message names the context, never the value.
            raise DecryptionError(f"value does not decrypt as {context!r} of this row") from exc

    def needs_reseal(self, token: str) -> bool:
        return key_id_of(token) != self.active or not is_bound(token)

    def reseal(self, token: str, *, context: str, row: str) -> str:
        return self.encrypt(self.decrypt(token, context=context, row=row), context=context, row=row)

    def blind_index(self, normalized: str, *, context: str) -> str:
        message = f"{context}\x00{normalized}".encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()

    def with_new_active_key(self) -> KeyRing:
        """A ring with a fresh key sealing from now on; every older key still decrypts."""
        staged = self.with_new_key()
        return staged.activate(_newest(staged, self))

    def with_new_key(self) -> KeyRing:
        """A ring with a fresh key that opens but does not seal yet: staged, so every process
        can hold it before anything is sealed under it."""
        key_id = _new_key_id(self.keys)
        keys = {**self.keys, key_id: AESGCM.generate_key(bit_length=256)}
        return KeyRing(keys, self.active, self.index_key)

    def activate(self, key_id: str) -> KeyRing:
        if key_id not in self.keys:
            raise KeyRingError(f"key {key_id!r} is not in the key ring; stage it with `keys add`")
        return KeyRing(self.keys, key_id, self.index_key)

    def retire(self, key_id: str) -> KeyRing:
        """A ring without `key_id`. Callers must first check no ciphertext still uses it."""
        if key_id not in self.keys:
            raise KeyRingError(f"key {key_id!r} is not in the key ring")
        if key_id == self.active:
            raise KeyRingError(f"key {key_id!r} is the active key; rotate before retiring it")
        keys = {k: v for k, v in self.keys.items() if k != key_id}
        return KeyRing(keys, self.active, self.index_key)

    def snapshot(self) -> KeyRing:
        """The keys as they are now, fixed (a live ring's current contents)."""
        state = self._current()
        return KeyRing(state.keys, state.active, state.index_key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyRing):
            return NotImplemented
        return self._current() == other._current()

    __hash__ = None  # type: ignore[assignment]  # mutable for live rings: never a dict key

    def __repr__(self) -> str:
        # Key ids only: the repr may reach a log or a traceback.
        return f"{type(self).__name__}(active={self.active!r}, keys={sorted(self.keys)!r})"

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
            return KeyRing(
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


def _bound(context: str, row: str) -> bytes:
    # NUL cannot occur in a context (a table.column name), so the split is unambiguous.
    return f"{context}\x00row\x00{row}".encode()


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


def _newest(ring: KeyRing, before: KeyRing) -> str:
    (added,) = set(ring.keys) - set(before.keys)
    return added


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


def create(path: Path) -> KeyRing:
    """A new key ring in a new file (never over an existing one): first set-up only.

    Written to a temporary file, then linked into place (which fails if the name exists):
    a process racing this one sees no file or a whole one, never an empty or half one."""
    ring = KeyRing.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(ring.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            raise KeyRingError(f"{path} already exists; a key file is never overwritten") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    log.warning(
        "key_file_created",
        key_file=str(path),
        advice="back it up, and give production its keys through CLINICFLOW_KEYS_FILE "
        "from a secret store",
    )
    return ring
