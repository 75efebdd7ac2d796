"""One logging style in src/clinicflow: a log line is an event name and key-value fields
(`log.info("message_sent", channel=..., message_id=...)`), never a message formatted with
values (%-style arguments, an f-string, `%` or `.format`) nor stdlib `extra=`. Fields are
what the redaction step judges by name; values folded into a message escape it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import clinicflow

SOURCE = Path(clinicflow.__file__).parent
LOGGERS = frozenset({"log", "_log", "logger", "_logger", "logging"})
LEVELS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "msg", "log"}
)
EVENT = re.compile(r"[a-z][a-z0-9_]*")


# Being rewritten on another branch (booking contention) while this rule was added: its two
# lines move to the event style when that branch is merged, and this entry goes.
def _logger_call(node: ast.AST) -> ast.Call | None:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    if node.func.attr not in LEVELS:
        return None
    receiver = node.func.value
    name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
    return node if name in LOGGERS else None


def _problem(call: ast.Call) -> str | None:
    args = (
        call.args[1:]
        if isinstance(call.func, ast.Attribute) and call.func.attr == "log"
        else call.args
    )
    if not args:
        return "no event name"
    event = args[0]
    if isinstance(event, ast.JoinedStr):
        return "an f-string message"
    if not (isinstance(event, ast.Constant) and isinstance(event.value, str)):
        return "a computed message (use an event name and fields)"
    if len(args) > 1:
        return "%-style arguments"
    if not EVENT.fullmatch(event.value):
        return f"{event.value!r} is not an event name (snake_case)"
    if any(k.arg == "extra" for k in call.keywords):
        return "stdlib extra= (pass the fields as keywords)"
    return None


def _stdlib_logger(node: ast.AST) -> bool:
    # `logging.getLogger(__name__)` gives a logger that takes no fields: get_logger does.
    return (
        isinstance(node, ast.Call)
        and ast.unparse(node.func) == "logging.getLogger"
        and [ast.unparse(a) for a in node.args] == ["__name__"]
    )


def violations(path: Path, text: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(text)):
        call = _logger_call(node)
        problem = _problem(call) if call is not None else None
        if problem is None and _stdlib_logger(node):
            problem = "logging.getLogger(__name__): use clinicflow.infra.logging.get_logger"
        if problem is not None:
            found.append(f"{path}:{getattr(node, 'lineno', '?')}: {problem}")
    return found


def test_every_module_logs_event_names_with_fields() -> None:
    found: list[str] = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        found += violations(Path(relative), path.read_text(encoding="utf-8"))
    assert found == []


def test_the_scan_recognises_each_forbidden_form() -> None:
    bad = """
import logging
log = logging.getLogger(__name__)
log.info("sent %s to %s", kind, to)
logger.warning(f"sent {kind}")
self._log.error("sent %s" % kind)
log.info("sent {}".format(kind))
log.error("sign-in link not delivered")
log.info("staff_signed_in", extra={"user_id": 1})
logging.warning("x %s", y)
log.log(20, "sent %s", kind)
"""
    good = """
log = get_logger(__name__)
log.info("message_sent", channel=channel, message_id=message_id)
self._log.exception("relay_failed", retrying=True)
logging.getLogger("stripe").setLevel(logging.INFO)
"""
    assert len(violations(Path("bad.py"), bad)) == 9
    assert violations(Path("good.py"), good) == []


def test_before_logging_is_configured_lines_go_to_stderr_redacted() -> None:
    # A CLI command that never configures logging prints data on stdout: a warning logged
    # meanwhile goes to stderr, as the stdlib prints any library's, and through redaction.
    script = (
        "from clinicflow.infra.logging import get_logger\n"
        "get_logger('clinicflow.x').warning('key_file_created', key_file='/k', "
        "email='pat@example.com')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == ""
    assert "event='key_file_created'" in done.stderr
    assert "key_file='/k'" in done.stderr
    assert "pat@example.com" not in done.stderr
