"""Passes: small signed facts a page hands the browser in a URL, such as "this browser holds
slot S until 10:32" or "this browser just booked B", so the next page can trust them without
a session and without a database read. HMAC-SHA256 under the pages' key; each pass names its
kind (a hold pass is not a booking pass) and expires."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

from clinicflow.web.security import WebKeys

JsonFacts = dict[str, str | int | None]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(keys: WebKeys, body: str) -> str:
    return _b64(hmac.new(keys.passes, body.encode(), hashlib.sha256).digest()[:20])


def issue(keys: WebKeys, kind: str, facts: JsonFacts, expires: datetime) -> str:
    payload = {"k": kind, "x": int(expires.timestamp()), **facts}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(keys, body)}"


def read(keys: WebKeys, kind: str, token: str, now: datetime) -> JsonFacts | None:
    """The facts, or None when the pass is forged, of another kind, or expired."""
    body, _, mac = token[:2000].partition(".")
    if not body or not hmac.compare_digest(_mac(keys, body), mac):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.pop("k", None) != kind:
        return None
    expires = payload.pop("x", 0)
    if not isinstance(expires, int) or expires < now.timestamp():
        return None
    return {k: v for k, v in payload.items() if isinstance(v, str | int) or v is None}
