"""The simulated people: invented names and addresses (example.com mail, no phones), the ZIP
codes around the clinic they live in, how they found the clinic, and where each stands in
their care."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

import zipcodes

from clinicflow.waitlist.domain.geo import great_circle_miles

FIRST = (
    "Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gil", "Hana", "Ivo", "Jo", "Kai", "Lu", "Mo",
    "Nia", "Oz", "Pia", "Quin", "Rae", "Sol", "Tess", "Uma", "Vik", "Wes", "Xan", "Yara",
    "Zed", "Ari", "Bea", "Cal", "Dov", "Eli", "Fay", "Gus", "Hal", "Ida", "Jem", "Kit",
)  # fmt: skip
LAST = (
    "Quill", "Marsh", "Fenn", "Rook", "Vale", "Hart", "Ames", "Cole", "Dunn", "Eck", "Ford",
    "Grey", "Hale", "Ives", "Jett", "Kerr", "Lowe", "Moss", "Nash", "Orr", "Pike", "Reed",
    "Shaw", "Tate", "Upton", "Voss", "Wynn", "Yost", "Zane", "Birch", "Crane", "Drake",
)  # fmt: skip
CAMPAIGNS = ("spring-newsletter", "search-ads", "health-fair", "radio-spot")
RADIUS_MILES = 25.0


@dataclass(slots=True)
class Person:
    """One patient as the simulation follows them (the clinic's record is the database's)."""

    number: int
    first_name: str
    last_name: str
    zip: str
    source: str  # referral | campaign | other | waitlist | established
    service: str
    email: str = ""
    referred_by: str | None = None  # the referring patient's id
    campaign: str | None = None
    patient_id: str | None = None
    visits: int = 0  # attended
    no_shows: int = 0
    first_visit: date | None = None
    stay_weeks: float = 0.0  # how long they keep coming (demand.weeks_in_programme)
    practitioner: str | None = None  # their usual one, once seen
    upcoming: set[str] = field(default_factory=set)  # booking ids not yet taken place

    def __post_init__(self) -> None:
        if not self.email:
            tag = f"{self.first_name}.{self.last_name}.{self.number}".lower()
            self.email = f"{tag}@example.com"


class Neighbourhood:
    """ZIP codes within RADIUS_MILES of the clinic's, nearer ones likelier (1 / (1 + d/3)²)."""

    def __init__(self, clinic_zip: str) -> None:
        home = zipcodes.matching(clinic_zip)  # type: ignore[no-untyped-call]
        self.zips: list[str] = [clinic_zip]
        self.weights: list[float] = [1.0]
        self._places: dict[str, tuple[str, str]] = {}
        if not home:
            return
        lat, lon = float(home[0]["lat"]), float(home[0]["long"])
        state = home[0]["state"]
        self._places[clinic_zip] = (home[0]["city"], state)
        found: list[dict[str, str]] = zipcodes.filter_by(state=state)  # type: ignore[no-untyped-call]
        for record in found:
            if record["zip_code"] == clinic_zip or record["zip_code_type"] != "STANDARD":
                continue
            miles = great_circle_miles((lat, lon), (float(record["lat"]), float(record["long"])))
            if miles <= RADIUS_MILES:
                self.zips.append(record["zip_code"])
                self.weights.append(1 / (1 + miles / 3) ** 2)
                self._places[record["zip_code"]] = (record["city"], state)

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.zips, self.weights)[0]

    def city(self, zip5: str) -> tuple[str, str]:
        """(city, state) of a ZIP picked here."""
        return self._places.get(zip5, ("Springfield", "TX"))


def invent(rng: random.Random, number: int, zips: Neighbourhood, service: str) -> Person:
    return Person(number, rng.choice(FIRST), rng.choice(LAST), zips.pick(rng), "other", service)
