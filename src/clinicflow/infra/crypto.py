"""Field encryption for PHI at rest: AES-256-GCM with a key ring, plus blind indexes.

Each ciphertext names the key that sealed it (`<key id>:<base64 nonce+ciphertext>`), so keys
can be added and old ones keep decrypting until retired. The column name is bound in as
associated data: a value copied into another column does not decrypt. Lookups go through a
keyed HMAC of the normalized value (a blind index), never through the plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)


class DecryptionError(Exception):
    pass


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]  # key id -> 32-byte AES key
    active: str
    index_key: bytes

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{self.active}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str) -> str:
        key_id, _, body = token.partition(":")
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(f"key {key_id!r} is not in the key ring")
        raw = base64.b64decode(body)
        return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()

    def blind_index(self, normalized: str, *, context: str) -> str:
        message = f"{context}\x00{normalized}".encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()

    @classmethod
    def generate(cls) -> KeyRing:
        key_id = f"k{secrets.token_hex(4)}"
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
        data = json.loads(text)
        keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
        return cls(keys, data["active"], base64.b64decode(data["index_key"]))


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
