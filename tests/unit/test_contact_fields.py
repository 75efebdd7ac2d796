"""The shared request fields for an optional email or phone (patients and waitlist schemas)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from clinicflow.patients import EmailIn, PhoneIn


class Form(BaseModel):
    email: EmailIn = None
    phone: PhoneIn = None


def test_values_are_normalized_as_they_are_stored_and_looked_up() -> None:
    form = Form(email="  Wren@Example.ORG ", phone="(512) 555-0142")
    assert form.email == "wren@example.org"
    assert form.phone == "+15125550142"


def test_a_blank_means_none() -> None:
    assert Form(email="", phone="  ") == Form()


def test_anything_else_must_be_valid_and_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Form(email="not-an-email", phone="12")
    fields = {e["loc"][0] for e in caught.value.errors()}
    assert fields == {"email", "phone"}
    with pytest.raises(ValidationError, match="at most 254"):
        Form(email="a" * 250 + "@example.org")
