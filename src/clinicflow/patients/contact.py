"""Normalizing contact details, so the same person is found however they typed them."""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field


class InvalidContact(ValueError):
    pass


def normalize_email(raw: str) -> str:
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidContact(str(exc)) from exc
    return checked.normalized.lower()


def normalize_phone(raw: str, region: str = "US") -> str:
    """E.164, e.g. +15125550123."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("not a valid phone number: give it with its area code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# For request schemas in any context: an optional email or phone, normalized as stored and
# looked up (a blank means none; anything else must be valid, or it is a 422 naming the field).
EmailIn = Annotated[
    Annotated[str, Field(max_length=254), AfterValidator(normalize_email)] | None,
    BeforeValidator(_blank_is_none),
]
PhoneIn = Annotated[
    Annotated[str, Field(max_length=32), AfterValidator(normalize_phone)] | None,
    BeforeValidator(_blank_is_none),
]
