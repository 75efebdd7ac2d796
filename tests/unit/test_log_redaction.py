"""Log lines carry no PHI: known keys are redacted, contact details scrubbed from free text."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
import structlog

from clinicflow.infra.logging import (
    REDACTED,
    access_line,
    configure_logging,
    scrub_text,
    unconfigure_logging,
)

FIRST, LAST = "Zelphira", "Quixworth"
EMAIL = "zelphira.q@example.org"
PHONE = "+1 (312) 555-0187"
PHI = (FIRST, LAST, EMAIL, "zelphira", "555-0187", "3125550187")


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _assert_no_phi(out: io.StringIO) -> None:
    text = out.getvalue()
    leaked = [value for value in PHI if value.lower() in text.lower()]
    assert not leaked, f"PHI reached the log: {leaked}\n{text}"


def test_a_structlog_event_keeps_ids_and_loses_phi(log_stream: io.StringIO) -> None:
    structlog.get_logger("clinicflow.booking").info(
        f"booked for {EMAIL} on {PHONE}",
        appointment_id="appt-42",
        first_name=FIRST,
        Last_Name=LAST,
        patient={"email": EMAIL, "id": "pat-7", "contacts": [{"phone": PHONE}]},
        authorization="Bearer abc.def",
        note_count=3,
    )
    _assert_no_phi(log_stream)
    (line,) = _lines(log_stream)
    assert line["event"] == f"booked for {REDACTED} on {REDACTED}"
    assert line["appointment_id"] == "appt-42"
    assert line["first_name"] == line["Last_Name"] == line["authorization"] == REDACTED
    assert line["patient"] == {"email": REDACTED, "id": "pat-7", "contacts": [{"phone": REDACTED}]}
    assert line["note_count"] == 3
    assert line["level"] == "info"
    assert line["logger"] == "clinicflow.booking"


def test_a_stdlib_line_goes_through_the_same_redaction(log_stream: io.StringIO) -> None:
    logging.getLogger("clinicflow.patients").warning(
        "duplicate patient %s reached at %s",
        EMAIL,
        PHONE,
        extra={"last_name": LAST, "request_id": "req-9"},
    )
    _assert_no_phi(log_stream)
    (line,) = _lines(log_stream)
    assert line["event"] == f"duplicate patient {REDACTED} reached at {REDACTED}"
    assert line["last_name"] == REDACTED
    assert line["request_id"] == "req-9"
    assert line["level"] == "warning"
    assert "message" not in line  # pytest's own handler formatted it first: no duplicate


def test_exception_messages_are_withheld(log_stream: io.StringIO) -> None:
    """The traceback says where it failed and what kind of error it was; the message, which
    for a database error quotes the statement's parameters, is never written."""
    try:
        raise ValueError(f"no patient with email {EMAIL} or phone {PHONE}")
    except ValueError:
        logging.getLogger("clinicflow.gateway").exception("lookup failed")
        structlog.get_logger().exception("lookup failed again")
    _assert_no_phi(log_stream)
    lines = _lines(log_stream)
    assert [line["event"] for line in lines] == ["lookup failed", "lookup failed again"]
    assert all("builtins.ValueError (message withheld)" in x["exception"] for x in lines)
    assert all("test_exception_messages_are_withheld" in x["exception"] for x in lines)
    assert not any("ValueError: no patient" in x["exception"] for x in lines)


def test_uvicorns_access_log_is_muted_and_the_apps_line_names_only_the_route(
    log_stream: io.StringIO,
) -> None:
    # uvicorn's line would print the raw path and query; the app writes its own instead.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50312", "GET", f"/v1/patients?last_name={LAST}",
        "1.1", 200,
    )  # fmt: skip
    access_line("GET", "/v1/patients", 200, 0.01234, "r-7")
    _assert_no_phi(log_stream)
    (line,) = _lines(log_stream)
    assert line["logger"] == "clinicflow.access"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/v1/patients", 200)
    assert (line["duration_ms"], line["request_id"], line["level"]) == (12.34, "r-7", "info")
    assert line["timestamp"].endswith("Z")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 312.555.0187 now", f"call {REDACTED} now"),
        ("sms to %2B13125550187 sent", f"sms to {REDACTED} sent"),
        ("mail zelphira%40example.org", f"mail {REDACTED}"),
        ("from 203.0.113.7 at 2026-11-24 15:00:00", "from 203.0.113.7 at 2026-11-24 15:00:00"),
        ("id 550e8400-e29b-41d4-a716-446655440000", "id 550e8400-e29b-41d4-a716-446655440000"),
        ("took 12 ms, 3 rows", "took 12 ms, 3 rows"),
    ],
)
def test_scrubbing_removes_contact_details_but_keeps_ordinary_numbers(
    text: str, expected: str
) -> None:
    assert scrub_text(text) == expected


def test_configuring_twice_keeps_one_handler(log_stream: io.StringIO) -> None:
    second = io.StringIO()
    configure_logging("INFO", stream=second)
    logging.getLogger("clinicflow").info("once")
    logging.getLogger("clinicflow").debug("filtered out by level")
    assert log_stream.getvalue() == ""
    assert [line["event"] for line in _lines(second)] == ["once"]


def test_uvicorns_own_logging_config_is_routed_through_redaction() -> None:
    access = logging.getLogger("uvicorn.error")
    access.handlers.append(logging.StreamHandler(io.StringIO()))  # as uvicorn's CLI does
    access.propagate = False
    access.setLevel(logging.WARNING)
    out = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("INFO", stream=out)
        access.info('"GET /v1/patients?email=zelphira.q%%40example.org HTTP/1.1" 200')
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        unconfigure_logging()
    assert "zelphira" not in out.getvalue()
    assert "GET /v1/patients" in out.getvalue()
