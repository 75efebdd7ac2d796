"""`clinicflow events …` (relay, lag, dead letters) and the `clinicflow worker` process."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from clinicflow.cli_progress import progress_bar
from clinicflow.infra.events import DeadLetter, EventBus
from clinicflow.settings import Settings

if TYPE_CHECKING:
    from clinicflow.bootstrap import Container

events_app = typer.Typer(
    help="The event bus: relay the outbox, inspect lag, replay dead letters.",
    no_args_is_help=True,
)
console = Console(stderr=True)
T = TypeVar("T")

Once = Annotated[bool, typer.Option("--once", help="Publish what is pending, then exit.")]
Replay = Annotated[
    str | None, typer.Option("--replay", metavar="EVENT_ID", help="Send this event again.")
]
Only = Annotated[str | None, typer.Option("--subscriber", help="Replay to this subscriber only.")]


@asynccontextmanager
async def open_container(settings: Settings) -> AsyncIterator[Container]:
    from clinicflow.bootstrap import build

    container = build(settings)
    try:
        yield container
    finally:
        await container.aclose()


@asynccontextmanager
async def open_bus(settings: Settings) -> AsyncIterator[EventBus]:
    """This process's bus: the platform's subscribers, plus any named in
    CLINICFLOW_EXTRA_SUBSCRIBERS."""
    async with open_container(settings) as container:
        yield container.bus


def _with_bus(work: Callable[[EventBus], Awaitable[T]]) -> T:
    async def go() -> T:
        async with open_bus(Settings()) as bus:
            return await work(bus)

    return asyncio.run(go())


@events_app.command("relay")
def relay(once: Once = False) -> None:
    """Publish the outbox's pending events (in-process: deliver them here too)."""
    if not once:
        console.print("the relay runs inside `clinicflow worker`; use --once for a single pass")
        raise typer.Exit(2)

    async def work(bus: EventBus) -> str:
        pending = (await bus.lag()).unpublished
        with progress_bar("events published", pending, console) as bar:
            published = 0

            def on_batch(n: int) -> None:
                nonlocal published
                published += n
                bar.total(max(pending, published))  # more may be written meanwhile
                bar.advance(n)

            if bus.in_process:
                done = await bus.run_once(on_batch)
                return f"published {done.published}; tried {done.delivered} deliveries"
            return f"published {await bus.relay_once(on_batch)}"

    console.print(_with_bus(work))


@events_app.command("lag")
def lag() -> None:
    """How many outbox events are unpublished, and how long the oldest has waited."""
    found = _with_bus(lambda bus: bus.lag())
    age = "-" if found.oldest_age is None else f"{found.oldest_age.total_seconds():.0f}s"
    typer.echo(f"unpublished\t{found.unpublished}\noldest_age\t{age}")


@events_app.command("dead-letters")
def dead_letters(replay: Replay = None, subscriber: Only = None) -> None:
    """List dead-lettered deliveries; with --replay EVENT_ID, send that event again."""
    if replay is None:
        _show(_with_bus(lambda bus: bus.dead_letters()))
        return

    async def work(bus: EventBus) -> list[str]:
        names = await bus.replay(replay, subscriber)
        if names and bus.in_process:
            await bus.run_once()  # deliver now, to this process's subscribers
        return names

    names = _with_bus(work)
    if not names:
        whom = f" for {subscriber}" if subscriber else ""
        console.print(f"[red]✗[/] no dead letter of event {replay}{whom}", highlight=False)
        raise typer.Exit(1)
    console.print(f"replayed {replay} to {', '.join(names)}", highlight=False)


def _show(letters: list[DeadLetter]) -> None:
    typer.echo("subscriber\tevent_id\ttype\tattempts\tlast_error")
    for letter in letters:
        fields = (letter.subscriber, letter.event_id, letter.type, letter.attempts)
        typer.echo("\t".join(map(str, (*fields, letter.last_error or "-"))))
    console.print(f"{len(letters)} dead letter(s)")


def run_worker(settings: Settings) -> None:
    """Relay and consume until SIGTERM or SIGINT; handlers under way finish first. On uvloop,
    as `serve` runs (uvicorn's `loop="auto"`): the worker's time goes to the same kind of work
    (database round trips, outbound HTTP and SMTP), and the suite's tests run on it too
    (docs/architecture.md, "One event loop")."""
    import uvloop

    from clinicflow.infra.logging import configure_logging

    configure_logging()

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with open_container(settings) as container:
            console.print(f"worker started ({settings.event_transport} transport)")
            await asyncio.gather(container.bus.run_worker(stop), container.jobs.run(stop))
        console.print("worker stopped")

    uvloop.run(go())
