"""What every context's routes read from a request: the caller the gateway authenticated, and
the wired parts their use cases live in, typed.

The composition root fills a `Provided` with the parts routes may reach, each under the class
its routes ask for; a context declares its dependency from the class alone, without
importing the root (which sits above every context):

    BookingServiceDep = Annotated[BookingService, Depends(provided(BookingService))]

mypy checks both ends: `Provided.add(BookingService)` takes only a BookingService (read
from the container), and `provided(BookingService)` gives one. What it cannot see, a class
some route asks for that the root never added, the app refuses when it is built
(`Provided.check`), not on a request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from clinicflow.shared.actor import ANONYMOUS, Actor
from clinicflow.shared.clock import Clock

T = TypeVar("T")

# Each dependency `provided(cls)` made, and its class: what an app's routes ask for.
_PROVIDERS: dict[Callable[..., object], type[object]] = {}


class MissingPart(RuntimeError):
    pass


class Provided:
    """The parts routes depend on, by class, each read from its container when asked (a part
    replaced in the container is the one the next request gets). The clock has its own
    reader: `Clock` is a protocol, and mypy takes only concrete classes for `type[T]`."""

    def __init__(self, clock: Callable[[], Clock]) -> None:
        self._clock = clock
        self._parts: dict[type[object], Callable[[], object]] = {}

    def add(self, cls: type[T]) -> Callable[[Callable[[], T]], None]:
        """`provided.add(BookingService)(lambda: container.bookings)`. Two steps, so that
        mypy settles `T` from the class alone: in one call it would widen `T` to `object`
        and accept any part."""

        def put(read: Callable[[], T]) -> None:
            if cls in self._parts:
                raise ValueError(f"{cls.__name__} is provided twice")
            self._parts[cls] = read

        return put

    def get(self, cls: type[T]) -> T:
        read = self._parts.get(cls)
        part = read() if read is not None else None
        if isinstance(part, cls):
            return part
        raise MissingPart(f"nothing provides {cls.__name__}: add it in clinicflow.bootstrap")

    def clock(self) -> Clock:
        return self._clock()

    def check(self, routes: Iterable[BaseRoute]) -> None:
        """Refuses an app whose routes ask for a part nobody added."""
        missing = sorted(cls.__name__ for cls in asked_by(routes) if cls not in self._parts)
        if missing:
            raise MissingPart(f"routes ask for parts nobody provides: {', '.join(missing)}")


def provided(cls: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency giving the app's part of class `cls`: a dict lookup and an attribute read
    per request, nothing built."""

    async def provide(request: Request) -> T:
        parts: Provided = request.app.state.provided
        return parts.get(cls)

    provide.__qualname__ = provide.__name__ = f"provide_{cls.__name__}"
    _PROVIDERS[provide] = cls
    return provide


def asked_by(routes: Iterable[BaseRoute]) -> set[type[object]]:
    """The classes these routes' dependencies (and theirs) ask `provided` for. Give it a
    router's routes: an app holds the routers it includes as (private) wrappers."""
    asked: set[type[object]] = set()
    stack = [route.dependant for route in routes if isinstance(route, APIRoute)]
    while stack:
        dependant = stack.pop()
        if dependant.call is not None and dependant.call in _PROVIDERS:
            asked.add(_PROVIDERS[dependant.call])
        stack.extend(dependant.dependencies)
    return asked


async def current_actor(request: Request) -> Actor:
    """Set by the gateway's authentication dependency before any route runs. (`async`:
    FastAPI would run a plain function on a worker thread, a thread hop per request.)"""
    actor = getattr(request.state, "actor", None)
    return actor if isinstance(actor, Actor) else ANONYMOUS


async def current_clock(request: Request) -> Clock:
    parts: Provided = request.app.state.provided
    return parts.clock()


CurrentActor = Annotated[Actor, Depends(current_actor)]
ClockDep = Annotated[Clock, Depends(current_clock)]
