"""A fake SendGrid v3 Mail Send API on loopback: checks the Bearer key and the JSON shape,
records accepted mail, and answers 429/503 or refuses addresses when told to."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from support.fake_http import Reply, Request, json_reply
from support.fake_vendor import FakeVendor

API_KEY = "SG.fake-key.for-tests"


def _errors(status: int, message: str, field: str | None = None) -> Reply:
    return json_reply(status, {"errors": [{"message": message, "field": field}]})


def _shape_problem(body: Any) -> tuple[str, str] | None:
    """(field, message) for the first way `body` breaks the documented shape, else None."""
    if not isinstance(body, dict):
        return "", "request body must be a JSON object"
    people = body.get("personalizations")
    if not isinstance(people, list) or not people:
        return "personalizations", "The personalizations field is required."
    for i, person in enumerate(people):
        to = person.get("to") if isinstance(person, dict) else None
        if (
            not isinstance(to, list)
            or not to
            or not all(
                isinstance(r, dict) and isinstance(r.get("email"), str) and "@" in r["email"]
                for r in to
            )
        ):
            return f"personalizations.{i}.to", "Each personalization needs to[] with an email."
    sender = body.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        return "from.email", "The from email is required."
    if "template_id" not in body and not isinstance(body.get("subject"), str):
        return "subject", "The subject is required."
    content = body.get("content")
    if "template_id" not in body and (not isinstance(content, list) or not content):
        return "content", "The content field is required."
    types = [part.get("type") for part in content or [] if isinstance(part, dict)]
    if "text/plain" in types and types[0] != "text/plain":
        return "content", "text/plain must be first in content."
    if any(not isinstance(part.get("value"), str) for part in content or []):
        return "content", "Each content needs a value."
    for i, item in enumerate(body.get("attachments", [])):
        if not item.get("filename") or not isinstance(item.get("content"), str):
            return f"attachments.{i}", "Attachments need filename and content."
        if item.get("disposition", "attachment") not in ("attachment", "inline"):
            return f"attachments.{i}.disposition", "disposition is attachment or inline."
        try:
            base64.b64decode(item["content"], validate=True)
        except binascii.Error:
            return f"attachments.{i}.content", "The attachment content must be base64 encoded."
    return None


class FakeSendGrid(FakeVendor):
    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.messages: list[dict[str, Any]] = []
        self.refused: set[str] = set()  # addresses refused with a 400 that quotes them

    def _handle(self, request: Request) -> Reply:
        forced = self._forced()
        if request.method != "POST" or request.path != "/v3/mail/send":
            return _errors(404, "Not found")
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _errors(401, "The provided authorization grant is invalid, expired, or revoked")
        if forced == 429:
            return _errors(429, "too many requests", None)
        if forced is not None:
            return _errors(forced, "Internal server error")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _errors(415, "Content-Type should be application/json.")
        try:
            body = json.loads(request.body)
        except ValueError:
            return _errors(400, "Bad Request", None)
        problem = _shape_problem(body)
        if problem is not None:
            return _errors(400, problem[1], problem[0])
        for person in body["personalizations"]:
            for recipient in person["to"]:
                if recipient["email"] in self.refused:
                    return _errors(
                        400,
                        f"The to address {recipient['email']} is on a suppression list.",
                        "personalizations.0.to.0.email",
                    )
        message_id = uuid.uuid4().hex[:22]
        with self._lock:
            self.messages.append({"id": message_id, **body})
        return Reply(202, {"X-Message-Id": message_id})
