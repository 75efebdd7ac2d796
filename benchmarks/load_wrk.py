"""wrk: running it and reading its output (for benchmarks/http_load.py)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

from load_common import LUA, MARKER

# --- wrk's output -------------------------------------------------------------------------


@dataclass
class WrkResult:
    """One wrk run, from the line http_load.lua's done() prints."""

    requests: int
    duration_s: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    exhausted: bool = False

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(n for kind, n in self.errors.items() if kind != "status")


def parse_wrk_output(text: str) -> WrkResult:
    """The figures from wrk's stdout; the script's JSON line carries them exactly."""
    for line in text.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise ValueError("no HTTP_LOAD_JSON line in wrk's output (was http_load.lua used?)")
    lat = data["latency_us"]
    return WrkResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        errors={k: int(v) for k, v in data["errors"].items()},
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        mean_ms=lat["mean"] / 1000,
        max_ms=lat["max"] / 1000,
        statuses={int(k): int(v) for k, v in data.get("statuses", {}).items()},
        exhausted=bool(data.get("exhausted", False)),
    )


def run_wrk(
    url: str,
    *,
    duration: float,
    connections: int,
    threads: int,
    env: Mapping[str, str] | None = None,
    wrk: str = "wrk",
) -> WrkResult:
    seconds = max(1, round(duration))
    threads = max(1, min(threads, connections))
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        url,
    ]
    full_env = {**os.environ, "HTTP_LOAD_THREADS": str(threads), **(env or {})}
    done = subprocess.run(
        cmd, env=full_env, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk_output(done.stdout)
