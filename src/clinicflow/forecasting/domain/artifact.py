"""A trained model as kept in the registry: JSON bytes (a LightGBM booster's own text
format, calibration points, the feature names and category lists), never a pickle, so an
artifact can be read without running code from it, and the same bytes predict the same."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


def dump(parts: Mapping[str, object]) -> bytes:
    return json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()


def load(data: bytes) -> dict[str, object]:
    found = json.loads(data)
    if not isinstance(found, dict):
        raise ValueError("an artifact is a JSON object")
    return found


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Fitted:
    """A model fitted for serving, with its held-out scores and what it learnt from: what
    the registry keeps (its `parts` become the artifact)."""

    kind: str
    parts: dict[str, object]
    features: tuple[str, ...]
    metrics: dict[str, object]
    window_start: datetime
    window_end: datetime
    data_hash: str
