"""`clinicflow simulate`: days of realistic clinic history, made through the real use cases
(an edge like demo.py, not a context). docs/simulation.md describes what it makes.

- `clinic.py`: the clinic simulated (practitioners asked for, the launch made possible);
- `demand.py`: seasonality, lead times, no-shows, cancellations, retention (with sources);
- `people.py`: invented people, the ZIP codes around the clinic, how they found it;
- `agenda.py`: what is due each day; `booking_round.py`: a round of bookings at once;
- `waitlists.py`: joins, the launch and conversions; `clinic_year.py`: the days;
- `tally.py`: what it made.
"""

from __future__ import annotations

from sqlalchemy import func, select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.simulation.clinic import SimulatedClinic, simulated_clinic
from clinicflow.simulation.clinic_year import DESK, ClinicYear, YearPlan
from clinicflow.simulation.demand import Demand
from clinicflow.simulation.tally import Tally


async def has_bookings(container: Container) -> bool:
    async with container.db.read() as conn:
        return bool((await conn.execute(select(func.count()).select_from(appointments))).scalar())


__all__ = [
    "DESK",
    "ClinicYear",
    "Demand",
    "SimulatedClinic",
    "Tally",
    "YearPlan",
    "has_bookings",
    "simulated_clinic",
]
