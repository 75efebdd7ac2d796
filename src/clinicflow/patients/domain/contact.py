"""Normalizing contact details, so the same person is found however they typed them."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


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
