"""How much the clinic is asked for, and how people behave: seasonality, lead times, no-shows,
cancellations, follow-up intervals and how long people stay in a programme.

Every draw takes the simulation's one `random.Random`, so a seed gives the same year.

Sources for the figures, where there is one:
- Retention: Finley CE, Barlow CE, Greenway FL, Rock CL, Rolls BJ, Blair SN. "Retention rates
  and weight loss in a commercial weight loss program". Int J Obes 2007;31:292-298 (60,164
  Jenny Craig Platinum enrollees): 73% still in the programme after 4 weeks, 42% at 13, 22%
  at 26 and 6.6% at 52. `RETENTION` is that curve; a person's weeks in a programme are drawn
  from it (linear between the published points), stretched per service by `stay_scale`.
- No-shows rise with the booking's lead time and with the person's earlier no-shows, the two
  effects reviews of outpatient no-shows agree on (e.g. Dantas LF et al., "No-shows in
  appointment scheduling – a systematic literature review", Health Policy 2018;122:412-421,
  which reports a mean no-show rate of 23% across studies, lower in primary care). Planted
  for the no-show model (docs/ml.md), as assumptions: visits at the day's edges booked over a
  week ahead, and first visits booked over ten days ahead, are missed far more often (about
  10–15% overall).
- Seasonality (January's resolutions, a summer and December dip) is an assumption, not a
  published figure: change `MONTH` to the clinic's own history.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise

# (weeks since the first visit, share still coming): Finley et al. 2007, above.
RETENTION = ((0.0, 1.0), (4.0, 0.73), (13.0, 0.42), (26.0, 0.22), (52.0, 0.066))

# Demand by weekday (Monday first) and by month (January first); 1.0 is an average day.
WEEKDAY = (1.2, 1.1, 1.0, 1.0, 0.9, 0.7, 0.4)
MONTH = (1.3, 1.15, 1.05, 1.0, 0.95, 0.85, 0.8, 0.85, 1.05, 1.0, 0.9, 0.75)


@dataclass(frozen=True, slots=True)
class CarePath:
    """A service's course: new patients a week per practitioner offering it, days between
    visits, and how much longer than RETENTION's weeks people stay. The visits' lengths are
    the clinic file's (the seed's: alternative medicine 15-20 min, follow-ups 10-15; GAPS 60
    then 15)."""

    new_per_week: float
    every_days: tuple[int, int]
    stay_scale: float = 1.0


# New patients sized so a practitioner is about 60% booked once the clinic is full: short
# visits every few weeks need many more people than GAPS's weekly hour-and-quarters.
PATHS = {
    "alternative_medicine": CarePath(15.0, (14, 28)),
    "gaps_coaching": CarePath(5.0, (7, 14), stay_scale=1.3),
}
DEFAULT_PATH = CarePath(2.5, (7, 14))  # the launched service (counseling: 50 min weekly-ish)


@dataclass(frozen=True, slots=True)
class Demand:
    """The behaviour knobs; the defaults give a clinic about 60% booked once full."""

    scale: float = 1.0  # multiplies every service's new patients (PATHS)
    established_per_practitioner: int = 80  # patients already in care on the first day
    referral_share: float = 0.35  # sent by a patient
    campaign_share: float = 0.25  # came through a campaign
    # the rest: other (found the clinic by search, walked in)
    lead_mean_days: float = 6.0  # a new patient's first visit, this far ahead on average
    # No-shows (`no_show_chance`): planted effects the no-show model must find (docs/ml.md),
    # two of them interactions a linear model cannot draw.
    no_show_base: float = 0.01
    no_show_per_lead_day: float = 0.001
    no_show_after_one: float = 0.40  # the person has missed a visit before
    no_show_edge_hours: float = 0.40  # before 10:00 or from 16:00, booked over a week ahead
    no_show_far_first: float = 0.45  # a first visit booked more than 10 days ahead
    no_show_cap: float = 0.8
    cancel_base: float = 0.07  # cancelled before the visit (any time)
    late_share: float = 0.3  # of those, within the full-refund window
    reschedule: float = 0.05
    prepay: float = 0.3  # a follow-up paid at the desk when it is booked
    waitlist_joins_week: dict[str, float] = field(
        default_factory=lambda: {"counseling": 4.0, "equine_therapy": 2.0}
    )
    joins_after_launch: float = 0.3  # a launched service's list keeps growing this much slower
    # Who of the invited call the desk and book (planted for the waitlist-conversion model):
    # `convert_invited` of those who gave interest 4 of 5, came from the clinic's site and
    # waited 90 days; the log-odds rise with the interest level and with a campaign that met
    # them in person, and fall with the days waited (people move on), which the priority
    # score rewards instead.
    convert_invited: float = 0.6
    convert_per_interest: float = 1.5  # per level
    convert_per_90_days_waited: float = -4.0
    convert_by_campaign: dict[str, float] = field(
        default_factory=lambda: {"health-fair": 3.0, "clinic-site": 0.0, "newsletter": -3.0}
    )
    launch_at: float = 0.6  # the launch, as a share of the simulated days


def seasonal(day: date) -> float:
    return WEEKDAY[day.weekday()] * MONTH[day.month - 1]


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of one clinic day."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def weeks_in_programme(rng: random.Random, scale: float = 1.0) -> float:
    """Weeks until the person stops coming, drawn from RETENTION (inverse of the curve);
    past its last point the tail falls off at the last segment's pace."""
    u = rng.random()
    for (w0, s0), (w1, s1) in pairwise(RETENTION):
        if u >= s1:
            return scale * (w0 + (s0 - u) / (s0 - s1) * (w1 - w0))
    (w0, s0), (w1, s1) = RETENTION[-2], RETENTION[-1]
    return scale * (w1 + (s1 - u) / (s0 - s1) * (w1 - w0))


def lead_days(rng: random.Random, mean: float) -> int:
    """Days between asking and the visit: mostly soon, sometimes weeks out (1–30)."""
    return max(1, min(30, 1 + int(rng.expovariate(1 / max(mean - 1, 0.5)))))


def conversion_chance(
    demand: Demand, interest_level: int, days_waited: float, campaign: str | None
) -> float:
    """The chance an invited person calls and books: `convert_invited` for one who gave
    interest 4, came from the clinic's site and waited 90 days, moved on the log-odds scale
    by their interest, their campaign and how long they waited."""
    if not 0 < demand.convert_invited < 1:
        return demand.convert_invited
    base = math.log(demand.convert_invited / (1 - demand.convert_invited))
    logit = base + demand.convert_per_interest * (interest_level - 4)
    logit += demand.convert_per_90_days_waited * (min(days_waited, 180.0) - 90.0) / 90
    logit += demand.convert_by_campaign.get(campaign or "", 0.0)
    return 1 / (1 + math.exp(-logit))


def no_show_chance(demand: Demand, lead: int, earlier: int, first: bool, hour: float) -> float:
    """`hour`: the visit's local start (10.5 is 10:30)."""
    p = demand.no_show_base + demand.no_show_per_lead_day * lead
    if earlier:
        p += demand.no_show_after_one
    if (hour < 10 or hour >= 16) and lead > 7:
        p += demand.no_show_edge_hours
    if first and lead > 10:
        p += demand.no_show_far_first
    return min(p, demand.no_show_cap)
