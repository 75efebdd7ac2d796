"""The no-show and churn models (docs/ml.md) on a simulated clinic's lake:

* training time: `evaluate` (both models fitted on the earlier period and scored on the
  later one) and `train` (that, the serving fits, the registry and the cached predictions),
  each once, by `time.perf_counter`;
* prediction latency through the API: `GET /v1/forecasts/no-show`, `/v1/forecasts/churn`
  (front desk) and `/v1/forecasts/summary` (analyst) answered from the cached predictions by
  the app in process (httpx's ASGI transport), median and p90 over `--requests` sequential
  requests after `--warmup` uncounted ones. `--latency-only` skips timing the training (the
  models are still trained once, untimed, to cache predictions to serve).

The history is the one the tests use (tests/support/ml_history.py: 240 days, 3
practitioners; made once, about three minutes, then kept). Nothing here asserts on time.

    .venv/bin/python benchmarks/ml.py [--requests 200] [--latency-only]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from clinicflow.bootstrap import build  # noqa: E402
from clinicflow.gateway.app import create_app  # noqa: E402
from clinicflow.infra.migrate import upgrade  # noqa: E402
from clinicflow.shared.clock import FixedClock  # noqa: E402
from support.app import staff_session  # noqa: E402
from support.ml_history import ml_history  # noqa: E402


async def main(requests: int, warmup: int, latency_only: bool) -> None:
    history = ml_history()
    settings = history.settings(Path(tempfile.mkdtemp()))
    await upgrade(settings.database_url)
    container = build(settings, clock=FixedClock(history.ends_at))
    try:
        training = container.forecasting.training
        if latency_only:
            await training.train()
        else:
            t = time.perf_counter()
            await training.evaluate()
            evaluated = time.perf_counter() - t
            t = time.perf_counter()
            entries = await training.train()
            trained = time.perf_counter() - t
            print(f"evaluate (the five models, held out): {evaluated:.2f} s")
            print(f"train (evaluate + serving fits + registry + predictions): {trained:.2f} s")
            for e in entries:
                print(f"  {e.kind} v{e.version}: artifact {len(e.artifact) / 1024:.0f} KiB")
        desk = await staff_session(container, "bench-desk", "front_desk")
        analyst = await staff_session(container, "bench-analyst", "analyst")
        transport = httpx.ASGITransport(app=create_app(container=container))
        async with httpx.AsyncClient(transport=transport, base_url="http://clinic.test") as http:
            for path, who in (
                ("/v1/forecasts/no-show", desk),
                ("/v1/forecasts/churn?limit=50", desk),
                ("/v1/forecasts/summary", analyst),
            ):
                times = []
                for n in range(warmup + requests):
                    t = time.perf_counter()
                    answer = await http.get(path, headers=who)
                    took = (time.perf_counter() - t) * 1000
                    assert answer.status_code == 200, answer.text
                    if n >= warmup:
                        times.append(took)
                times.sort()
                p90 = times[int(len(times) * 0.9) - 1]
                rows = len(answer.json())
                print(
                    f"GET {path}: {rows} rows, median {statistics.median(times):.1f} ms, "
                    f"p90 {p90:.1f} ms over {requests} requests"
                )
    finally:
        await container.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="time the API only (the models are trained untimed, to have predictions to serve)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.warmup, args.latency_only))
