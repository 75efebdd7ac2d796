"""Wiring the app imports none of the heavy libraries that only the models and the lake's
own work use: every process (serve, each worker, each CLI command) wires the app, and
together they took seconds of CPU per start (docs/architecture.md, "Start-up")."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "lightgbm",
    "sklearn",
    "scipy",
    "statsforecast",
    "statsmodels",
    "lifelines",
    "ortools",
    "pandas",
    "pyiceberg",
    "pyarrow",
    "duckdb",
    "pyspark",
    "fpdf",  # receipts' PDFs
    "pywebpush",  # a push's encryption; it brings aiohttp
    "aiohttp",
)


def test_the_cli_and_the_wiring_leave_the_heavy_libraries_unimported() -> None:
    probe = (
        "import json, sys\n"
        "import clinicflow.cli, clinicflow.bootstrap\n"
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_probe_sees_a_heavy_library_once_a_model_is_used() -> None:
    probe = (
        "import json, sys\n"
        "import numpy as np\n"
        "from clinicflow.forecasting.domain.metrics import auc\n"
        "auc(np.array([0.0, 1.0]), np.array([0.2, 0.9]))\n"
        "print(json.dumps('sklearn' in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) is True
