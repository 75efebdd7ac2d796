"""Rows as columns: what the lake's reader hands the models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.generic]


@dataclass(frozen=True)
class Frame:
    """Columns of equal length, by name (numbers as float64, words as object arrays)."""

    columns: Mapping[str, Array]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> Array:
        return self.columns[name]

    def where(self, mask: NDArray[np.bool_]) -> Frame:
        return Frame({k: v[mask] for k, v in self.columns.items()})

    def floats(self, name: str) -> NDArray[np.float64]:
        return np.asarray(self.columns[name], dtype=np.float64)


def concat(frames: list[Frame]) -> Frame:
    if not frames:
        return Frame({})
    names = list(frames[0].columns)
    return Frame({n: np.concatenate([f.columns[n] for f in frames]) for n in names})


class Features(Protocol):
    """The lake's rows as the models' inputs (forecasting/queries.py `LakeReader`)."""

    @property
    def windows(self) -> Mapping[str, int]:
        """The churn window in days, per service."""
        ...

    def bookings(self) -> Frame: ...

    def churn(self, at: datetime, seen: datetime) -> Frame: ...

    def span(self) -> tuple[datetime | None, datetime | None]: ...

    def last_event(self) -> datetime | None: ...

    def digest(self) -> str: ...

    def close(self) -> None: ...
