"""HIPAA Safe Harbor's rules for the two quasi-identifiers the lake keeps, coarsened.

45 CFR §164.514(b)(2)(i)(B): a ZIP code may be kept only as its first three digits, and
those become "000" where all ZIP codes sharing them hold 20,000 people or fewer. The
prefixes below are the ones HHS lists in its "Guidance Regarding Methods for
De-identification of Protected Health Information" (2012, §3.2, from the 2000 Census); the
guidance tells covered entities to use a newer list where the Census Bureau has published
one. §164.514(b)(2)(i)(C): dates other than the year, and ages over 89, are identifiers; the
lake keeps an age band instead of a birth date, with every age over 89 in one band.
"""

from __future__ import annotations

from datetime import date, datetime

RESTRICTED_ZIP3 = frozenset(
    {
        "036", "059", "063", "102", "203", "556", "692", "790", "821",
        "823", "830", "831", "878", "879", "884", "890", "893",
    }
)  # fmt: skip
SMALL_AREA = "000"

# (lowest age, label), ascending; the last band takes every age above 89 (Safe Harbor).
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (0, "0-17"),
    (18, "18-24"),
    (25, "25-34"),
    (35, "35-44"),
    (45, "45-54"),
    (55, "55-64"),
    (65, "65-74"),
    (75, "75-89"),
    (90, "90+"),
)


def zip3(zip_code: str | None) -> str | None:
    """The first three digits of a US ZIP (or ZIP+4), "000" for the small areas; None when
    `zip_code` is not a US ZIP (a foreign postcode says nothing the lake may keep)."""
    digits = (zip_code or "").strip()
    if len(digits) not in (5, 9, 10) or not digits[:5].isdigit():
        return None
    if len(digits) > 5 and not digits[-4:].isdigit():
        return None
    prefix = digits[:3]
    return SMALL_AREA if prefix in RESTRICTED_ZIP3 else prefix


def age_on(birth: date, at: date) -> int:
    before_birthday = (at.month, at.day) < (birth.month, birth.day)
    return at.year - birth.year - before_birthday


def age_band(birth: date | None, at: datetime) -> str | None:
    """The band of the person's age on the day of `at` (UTC); None without a birth date or
    for a birth date after `at` (a typo the lake cannot place)."""
    if birth is None:
        return None
    age = age_on(birth, at.date())
    if age < 0:
        return None
    label = AGE_BANDS[0][1]
    for lowest, name in AGE_BANDS:
        if age >= lowest:
            label = name
    return label
