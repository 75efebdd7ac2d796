"""Numbers as people and peers type them: the ASCII digits.

`str.isdigit()` is also true of "²", "³", "①" and other characters that are digits in
Unicode but that `int()` and `float()` refuse with a ValueError, so a check by `isdigit()`
followed by `int()` lets such input through to a 500. The FHIR fuzz test found one:
`GET /fhir/R4/Practitioner?_count=²`. Every check before a conversion uses `is_decimal`.
"""

from __future__ import annotations


def is_decimal(text: str) -> bool:
    """`text` is one or more of the digits 0 to 9, and nothing else."""
    return text.isascii() and text.isdigit()
