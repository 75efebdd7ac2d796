"""The waitlist-conversion use cases: judge the model on the lake (held out by time), and
size a launch wave: how many of the waiting, in the published priority order, to invite to
fill the places opened. Reads the lake only."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from clinicflow.forecasting.demand.guard import PlanningGuard
from clinicflow.forecasting.demand.ports import LakeFiles, ModelSettings
from clinicflow.forecasting.demand.queries import LakeHistory
from clinicflow.forecasting.waitlist.domain.conversion import (
    Invitation,
    ranked,
    wave_size,
)
from clinicflow.forecasting.waitlist.domain.model import Evaluation, decided, evaluate, train
from clinicflow.forecasting.waitlist.views import WaveSize
from clinicflow.shared.actor import Actor
from clinicflow.shared.clock import Clock
from clinicflow.waitlist import WaitlistPolicy


def read_invitations(lake: LakeFiles) -> tuple[list[Invitation], list[Invitation]]:
    """The lake's invitations, and its entries never invited as if invited now (blocking)."""
    history = LakeHistory(lake.data_files())
    try:
        return history.invitations(), history.waiting()
    finally:
        history.close()


@dataclass(kw_only=True, eq=False)
class WaitlistConversion:
    lake: LakeFiles
    clock: Clock
    policy: WaitlistPolicy
    guard: PlanningGuard
    settings: ModelSettings | None = None  # the registry's latest entries

    async def evaluation(self, actor: Actor, *, shuffled_seed: int | None = None) -> Evaluation:
        await self.guard.proposals(actor, "waitlist")
        invited, _ = await asyncio.to_thread(read_invitations, self.lake)
        return evaluate(invited, self.clock.now(), self.policy, shuffled_seed=shuffled_seed)

    async def wave(self, actor: Actor, service: str, places: int) -> WaveSize:
        await self.guard.proposals(actor, "waitlist")
        invited, waiting = await asyncio.to_thread(read_invitations, self.lake)
        now = self.clock.now()
        kept = await self.settings.waitlist() if self.settings is not None else None
        model = kept or train(decided(invited, now))  # the latest entry's, else fitted now
        mine = [w for w in waiting if w.service == service]
        chances = model.chances(ranked(mine, self.policy))
        n = wave_size(places, chances)
        return WaveSize(service, places, n, round(sum(chances[:n]), 2), len(mine))
