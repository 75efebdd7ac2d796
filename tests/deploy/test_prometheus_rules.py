"""deploy/prometheus: the alert rules, checked and unit-tested with promtool (Debian's
`prometheus` package) when it is installed, and read structurally always."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from support.deploy import DOCS, PROMETHEUS, load_one, promql_problems, required_tool

ALERTS = PROMETHEUS / "alerts.yml"
# alert -> (its `for`, a fragment of its expression that carries the threshold)
EXPECTED = {
    "ClinicflowHighErrorRate": ("5m", "> 0.02"),
    "ClinicflowSlowRequests": ("10m", "> 1"),
    "ClinicflowOutboxLagging": ("5m", "> 120"),
    "ClinicflowDeadLetters": ("10m", "> 0"),
    "ClinicflowCircuitOpen": ("5m", "== 1"),
    "ClinicflowCalendarUnconfirmed": ("10m", "> 0"),
}


def _rules() -> list[dict[str, Any]]:
    return [rule for group in load_one(ALERTS)["groups"] for rule in group["rules"]]


def _promtool() -> str:
    return required_tool(
        "promtool",
        "promtool is not installed (Debian: apt-get install prometheus); "
        "the rules were only checked structurally",
    )


def _run(*args: str) -> None:
    result = subprocess.run(
        [_promtool(), *args], capture_output=True, text=True, check=False, cwd=PROMETHEUS
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules() -> None:
    _run("check", "rules", "alerts.yml")


def test_promtool_check_config() -> None:
    _run("check", "config", "prometheus.yml")


def test_promtool_unit_tests() -> None:
    """alerts.test.yml: each alert fires on the series it is about, after its `for`, and not
    below its threshold."""
    _run("test", "rules", "alerts.test.yml")


def test_the_alerts() -> None:
    rules = {rule["alert"]: rule for rule in _rules()}
    assert set(rules) == set(EXPECTED)
    for name, (duration, threshold) in EXPECTED.items():
        rule = rules[name]
        assert rule["for"] == duration, name
        assert threshold in " ".join(rule["expr"].split()), name
        assert rule["labels"]["severity"] in {"page", "ticket"}, name


def test_every_alert_explains_itself() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", DOCS.read_text(), re.MULTILINE)
    }
    for rule in _rules():
        notes = rule["annotations"]
        assert notes["summary"], rule["alert"]
        assert notes["description"], rule["alert"]
        runbook = notes["runbook"]
        assert runbook.startswith("docs/deployment.md#"), rule["alert"]
        anchor = runbook.split("#", 1)[1].split(":", 1)[0]
        assert anchor in anchors, f"{rule['alert']}: docs/deployment.md has no #{anchor}"


def test_alert_expressions_use_only_contract_metrics() -> None:
    for rule in _rules():
        assert promql_problems(rule["expr"]) == [], rule["alert"]
