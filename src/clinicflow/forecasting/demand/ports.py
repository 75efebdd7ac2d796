"""What the planning models need from outside: the lake's current files (the analytics
lake adapter, `adapters/lake/iceberg.IcebergLake`, has them)."""

from __future__ import annotations

from typing import Protocol


class LakeFiles(Protocol):
    def data_files(self) -> list[str]:
        """The Parquet files of the lake's current snapshot (blocking: called in a thread)."""
        ...
