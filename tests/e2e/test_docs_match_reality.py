"""The docs name only what exists: every `clinicflow …` command (its subcommands and options)
and every `METHOD /path` or link to the app in README.md and docs/*.md is checked against
the CLI itself and the routes the app serves.

General on purpose: whatever a later change writes into the docs is held to the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi import FastAPI
from starlette.routing import Match
from typer.testing import CliRunner

from clinicflow.cli import app as cli_app
from clinicflow.gateway.app import create_app
from support.app import clinic_settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
METHOD = r"(?:GET|HEAD|POST|PUT|PATCH|DELETE)"
# `GET /v1/x`, `GET\|POST /v1/x\|y` (a table cell's alternatives), `POST /v1/x[/claim]`
ROUTE = re.compile(rf"\b({METHOD}(?:\\?\|{METHOD})*) (/[^\s`'\",)<>]*)")
# Links to the app as `make demo` serves it.
LINK = re.compile(r"https?://(?:127\.0\.0\.1|localhost):8000(/[^\s`'\">)\]]*)?")
SHELL_STOP = re.compile(r"\s(?:\||&&|;|#|>|2>)\s")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class Mention:
    where: str  # file:line
    text: str


def _lines() -> Iterator[tuple[str, str, bool]]:
    """(file:line, text, inside a fenced code block) for every line of the docs."""
    for path in DOCS:
        fenced = False
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            yield f"{path.relative_to(ROOT)}:{n}", line, fenced


# --- routes ----------------------------------------------------------------------------------


def _route_mentions() -> Iterator[tuple[str, str, str]]:
    """(where, method, path) for every route named, alternatives expanded."""
    for where, line, fenced in _lines():
        if fenced and " HTTP/1.1" in line:
            continue  # a raw request to someone else's server (a webhook receiver)
        for methods, path in ROUTE.findall(line):
            path = re.sub(r"\[\?[^\]]*\]", "", path).rstrip("\\.:")  # `x[?format=pdf]`
            for method in methods.split("\\|") if "\\|" in methods else methods.split("|"):
                for one in _alternatives(path.split("?", 1)[0]):
                    yield where, method, one
        for path in LINK.findall(line):
            yield where, "GET", path.split("?", 1)[0] or "/"


def _alternatives(path: str) -> list[str]:
    """`/a/b\\|c` -> /a/b, /a/c; `/a[/claim]` -> /a, /a/claim."""
    head, *others = path.split("\\|")
    paths = [head] + [head.rsplit("/", 1)[0] + "/" + other for other in others]
    expanded: list[str] = []
    for one in paths:
        optional = re.search(r"\[([^\]]*)\]", one)
        if optional:
            expanded += _alternatives(one.replace(optional.group(0), "", 1))
            expanded += _alternatives(one.replace(optional.group(0), optional.group(1), 1))
        else:
            expanded.append(one)
    return expanded


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    tmp = tmp_path_factory.mktemp("docs")
    settings = clinic_settings(
        f"sqlite+aiosqlite:///{tmp / 'clinic.sqlite3'}",
        tmp,
    )
    return create_app(settings)


def _served(web: FastAPI, method: str, path: str) -> bool:
    concrete = re.sub(r"\{[^}/]*\}", "sample-id", path)
    scope = {"type": "http", "method": method, "path": concrete, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in web.router.routes)


def _in_openapi(web: FastAPI, method: str, path: str) -> bool:
    shape = re.sub(r"\{[^}/]*\}", "{}", path)
    for documented, operations in web.openapi()["paths"].items():
        if re.sub(r"\{[^}/]*\}", "{}", documented) == shape:
            return method.lower() in operations
    return False


def test_the_docs_name_routes() -> None:
    # The extraction itself works: a known table row, alternatives and all, is found.
    found = {(m, p) for _, m, p in _route_mentions()}
    assert ("POST", "/v1/bookings/{id}/check-in") in found
    assert ("GET", "/healthz") in found


def test_every_route_the_docs_name_is_served(web: FastAPI) -> None:
    wrong = [
        f"{where}: {method} {path}"
        for where, method, path in _route_mentions()
        if not _served(web, method, path)
        or (path.startswith("/v1/") and not _in_openapi(web, method, path))
    ]
    assert wrong == [], "the docs name routes the app does not serve:\n" + "\n".join(wrong)


# --- commands --------------------------------------------------------------------------------


def _command_mentions() -> Iterator[Mention]:
    for where, line, fenced in _lines():
        texts = [line] if fenced else re.findall(r"`([^`]+)`", line)
        for text in texts:
            command = _command_in(text, fenced)
            if command is not None:
                yield Mention(where, command)


def _command_in(text: str, fenced: bool) -> str | None:
    """The words after `clinicflow` when `text` runs it (as a shell line or an inline span)."""
    tokens = text.split()
    for i, token in enumerate(tokens):
        before = tokens[:i]
        runs = token == "clinicflow" or token.endswith("bin/clinicflow")
        if fenced and token.startswith("clinicflow:") and "run" in before:
            # `docker run … clinicflow:TAG ARGS`: the image's entrypoint is the CLI
            runs = not any(t.startswith("--entrypoint") for t in before)
        if not runs:
            continue
        plain = all(ENV_ASSIGNMENT.match(t) or t == "$" for t in before)
        # `docker compose run api clinicflow …`, not `kubectl -n clinicflow …` (a namespace)
        tool = fenced and before and before[0] in ("docker", "kubectl")
        if plain or (tool and not before[-1].startswith("-")):
            rest = SHELL_STOP.split(" " + " ".join(tokens[i + 1 :]) + " ")[0].strip()
            return rest or None  # the program's bare name is no command
        return None
    return None


ROOT_COMMAND = typer.main.get_command(cli_app)


def _resolve(words: list[str]) -> tuple[list[str], list[str]]:
    """(the subcommand path, problems) for `clinicflow WORDS…`."""
    command: Any = ROOT_COMMAND  # typer's own click (a group has `commands`)
    path: list[str] = []
    problems: list[str] = []
    for raw in words:
        word = raw.strip("[]")
        if not word or "<" in word or "…" in word or word == "...":
            continue
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            if name not in options | {"--help"}:
                problems.append(f"`clinicflow {' '.join(path)}` has no option {name}")
            continue
        if hasattr(command, "commands"):
            sub = command.commands.get(word)
            if sub is None:
                problems.append(f"`clinicflow {' '.join(path)}` has no command {word!r}")
                return path, problems
            command, path = sub, [*path, word]
    return path, problems


def _check(command: str) -> list[str]:
    first, *others = command.split("\\|")
    path, problems = _resolve(first.split())
    for other in others:  # `keys status\|rotate\|retire KEY`: siblings of the last word
        _, more = _resolve([*path[:-1], *other.split()])
        problems += more
    return problems


def test_the_docs_name_commands() -> None:
    found = {m.text for m in _command_mentions()}
    assert any(text.startswith("serve --host") for text in found), found
    assert _check("keys status\\|rotate\\|nonsense KEY") == [
        "`clinicflow keys` has no command 'nonsense'"
    ]
    assert _check("serve --no-such-option") == ["`clinicflow serve` has no option --no-such-option"]


def test_every_command_the_docs_name_exists() -> None:
    wrong = [f"{m.where}: {p}" for m in _command_mentions() for p in _check(m.text)]
    assert wrong == [], "the docs name commands or options that do not exist:\n" + "\n".join(wrong)


def test_every_command_the_docs_name_answers_help() -> None:
    runner = CliRunner()
    paths = {tuple(_resolve(m.text.split("\\|")[0].split())[0]) for m in _command_mentions()}
    for path in sorted(paths):
        result = runner.invoke(cli_app, [*path, "--help"])
        assert result.exit_code == 0, f"clinicflow {' '.join(path)} --help: {result.output}"
