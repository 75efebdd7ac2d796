"""The staff console's administration: the waitlist ranked per service with the launch
(`/staff/waitlist`) and the feature flags (`/staff/flags`)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from clinicflow.catalog.api import LaunchesDep
from clinicflow.flags.api import FlagsDep
from clinicflow.shared.actor import Actor
from clinicflow.shared.errors import DomainError, Forbidden, NotFound, Unauthenticated
from clinicflow.waitlist.domain.waves import launch_problems
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.web.forms import read_form, validated
from clinicflow.web.pages import Frame, FrameDep, page_router
from clinicflow.web.security import WebKeysDep
from clinicflow.web.staff_console import (
    Can,
    _refused,
    _render,
    _sentence,
    _staff,
    _staff_form,
)

router = page_router()


# -- the waitlist -----------------------------------------------------------------------------


async def _waitlist_page(
    page: Frame,
    actor: Actor,
    waitlist: WaitlistDep,
    service: str,
    notice: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The waitlist of `service` (or the first), or the page refusing it to this role."""
    can = Can.of(actor)
    listed = [s for s in page.catalog.services.values() if s.waitlist]
    shown = page.catalog.services.get(service) if service else (listed[0] if listed else None)
    entries = None
    sizes = None
    try:
        if shown is not None and can.waitlist:
            entries = (await waitlist.entries.listed(actor, shown.key, None, 200, 0)).entries
        elif can.stats:
            sizes = {s.service: s for s in (await waitlist.stats.stats(actor)).services}
        elif not can.waitlist:
            raise Forbidden("your role may not list waitlist entries")
    except DomainError as exc:
        return _refused(page, exc)
    return _render(
        page,
        "waitlist.html",
        {
            "services": listed,
            "shown": shown,
            "entries": entries,
            "sizes": sizes,
            "problems": {s.key: [m for _, m in launch_problems(s)] for s in listed},
            "notice": notice,
            "problem": problem,
            "section": "waitlist",
            "tz": page.clinic_tz,
        },
        status=status,
    )


@router.get("/staff/waitlist")
async def waitlist_page(
    page: FrameDep, waitlist: WaitlistDep, launches: LaunchesDep, service: str = ""
) -> Response:
    actor = _staff(page)
    await launches.refresh()
    return await _waitlist_page(page, actor, waitlist, service)


@router.post("/staff/waitlist/{service}/launch")
async def launch(
    request: Request,
    page: FrameDep,
    keys: WebKeysDep,
    waitlist: WaitlistDep,
    launches: LaunchesDep,
    service: str,
) -> Response:
    await read_form(request, keys)
    actor = _staff(page)
    if service not in page.catalog.services:
        return _refused(page, NotFound("no such service"))
    try:
        launched = await waitlist.launches.launch(actor, service)
    except (NotFound, Forbidden, Unauthenticated) as exc:
        return _refused(page, exc)
    except DomainError as exc:
        said = _sentence(str(exc))
        return await _waitlist_page(page, actor, waitlist, service, problem=said, status=exc.status)
    await launches.refresh()
    invited = launched.wave.invited if launched.wave else 0
    name = page.catalog.services[service].name
    notice = f"{name} is launched and bookable. {invited} invitation{'s' * (invited != 1)} sent."
    return await _waitlist_page(page, actor, waitlist, service, notice=notice)


# -- feature flags ----------------------------------------------------------------------------


@router.get("/staff/flags")
async def flags_page(page: FrameDep, flags: FlagsDep) -> Response:
    actor = _staff(page)
    try:
        listed = await flags.list(actor)
    except DomainError as exc:
        return _refused(page, exc)
    return _render(page, "flags.html", {"flags": listed, "section": "flags", "tz": page.clinic_tz})


class InvalidFlag(DomainError):
    code = "invalid_flag"
    status = 422


class FlagForm(BaseModel):
    enabled: bool = False
    percentage: int = Field(default=100, ge=0, le=100)


@router.post("/staff/flags/{key}")
async def set_flag(
    request: Request, page: FrameDep, keys: WebKeysDep, flags: FlagsDep, key: str
) -> Response:
    posted, actor = await _staff_form(request, page, keys)
    form = validated(FlagForm, posted, {"enabled": posted.values.get("enabled") == "on"})
    try:
        if form is None:
            raise InvalidFlag("; ".join(posted.errors.values()))
        known = {f.key for f in await flags.list(actor)}
        if key not in known:
            raise NotFound("no such flag")
        await flags.set(actor, key, form.enabled, form.percentage)
    except DomainError as exc:
        return _refused(page, exc)
    return RedirectResponse(f"/staff/flags#flag-{key}", status_code=303)
