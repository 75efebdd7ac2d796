"""Procedure (CPT/HCPCS) and diagnosis (ICD-10-CM) codes staff add to a receipt for a
superbill. Only the shape is checked; whether a code fits the visit is the clinician's call."""

from __future__ import annotations

import re

# CPT: five digits (99203), or four and a letter for category II/III (0001F, 0042T);
# HCPCS level II: a letter and four digits (G0447).
_CPT = re.compile(r"^(\d{4}[0-9FTU]|[A-V]\d{4})$")
# ICD-10-CM: a letter, a digit, a digit or letter, then optionally a dot and 1-4 more.
_ICD10 = re.compile(r"^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$")


def normalize(code: str) -> str:
    return code.strip().upper()


def bad_cpt(codes: list[str]) -> list[str]:
    return [c for c in codes if not _CPT.match(normalize(c))]


def bad_icd10(codes: list[str]) -> list[str]:
    return [c for c in codes if not _ICD10.match(normalize(c))]
