"""`is_decimal`: the checks before `int()` and `float()` take the ASCII digits only."""

from __future__ import annotations

import pytest

from clinicflow.shared.numerals import is_decimal


@pytest.mark.parametrize("text", ["0", "7", "0042", "123456"])
def test_ascii_digits_are_a_number(text: str) -> None:
    assert is_decimal(text)
    int(text)  # and int() reads them


@pytest.mark.parametrize("text", ["²", "1³", "①", "١٢", "１２", "", " 1", "1 ", "-1", "1.5", "1e3"])
def test_anything_else_is_not(text: str) -> None:
    assert not is_decimal(text)


@pytest.mark.parametrize("text", ["²", "1³", "①"])
def test_the_characters_isdigit_lets_through_that_int_refuses(text: str) -> None:
    # What the check guards against: isdigit() says yes, int() raises.
    assert text.isdigit()
    with pytest.raises(ValueError, match="invalid literal"):
        int(text)
    assert not is_decimal(text)
