"""The `clinicflow` command: serve, demo, db, config."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from clinicflow.cli_analytics import analytics_app
from clinicflow.cli_audit import audit_app
from clinicflow.cli_calendars import calendars_app
from clinicflow.cli_calendly import calendly_app
from clinicflow.cli_events import events_app, run_worker
from clinicflow.cli_fhir import fhir_app
from clinicflow.cli_identity import apikeys_app, oauth_app, users_app
from clinicflow.cli_keys import keys_app
from clinicflow.cli_payments import payments_app
from clinicflow.cli_retention import retention_app
from clinicflow.cli_simulate import simulate
from clinicflow.infra.crypto import KeysUnavailable
from clinicflow.settings import Settings
from clinicflow.shared.errors import InvalidRequest

if TYPE_CHECKING:
    from clinicflow.simulation import SimulatedClinic


class _Clinicflow(typer.Typer):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except KeysUnavailable as exc:
            # Any command that builds the app refuses here: say why, without a traceback.
            console.print(f"[red]✗[/] {exc}", highlight=False)
            raise SystemExit(1) from exc


app = _Clinicflow(help="Run and administer clinicflow.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="The clinic's configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(analytics_app, name="analytics")
app.add_typer(retention_app, name="retention")
app.add_typer(users_app, name="users")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(oauth_app, name="oauth")
app.add_typer(events_app, name="events")
app.add_typer(payments_app, name="payments")
app.add_typer(calendars_app, name="calendars")
app.add_typer(calendly_app, name="calendly")
app.add_typer(fhir_app, name="fhir")
app.command()(simulate)
# No wrapping: what it prints (commands, URLs, paths) must stay whole to be copied.
console = Console(stderr=True, soft_wrap=True)

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]
Workers = Annotated[
    int,
    typer.Option(
        min=1,
        help="Server processes sharing the port; each builds its app from the environment "
        "(use Redis for the cache, rate limits and events when more than one).",
    ),
]


Services = Annotated[
    str | None,
    typer.Option(
        help="Contexts whose routes this process serves, comma separated (e.g. "
        "booking,patients); all when not given. Same as CLINICFLOW_SERVICES.",
    ),
]
ShutdownSeconds = Annotated[
    int,
    typer.Option(
        min=0,
        help="On SIGTERM, how long requests under way may take before their connections are "
        "closed; keep it under the orchestrator's grace period (Kubernetes: 30 s, less preStop).",
    ),
]

TlsFile = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        help="PEM file; give both --tls-cert and --tls-key to serve HTTPS.",
    ),
]


MetricsPort = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=65535,
        help="Answer Prometheus /metrics on this port (and only there; never on --port). "
        "Default: CLINICFLOW_METRICS_PORT, else no metrics are served.",
    ),
]


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Workers = 1,
    tls_cert: TlsFile = None,
    tls_key: TlsFile = None,
    services: Services = None,
    shutdown_seconds: ShutdownSeconds = 20,
    metrics_port: MetricsPort = None,
) -> None:
    """Serve the HTTP API (the database must be migrated: `clinicflow db migrate`). With a
    certificate and its key it serves HTTPS, and answers carry Strict-Transport-Security.
    Links in messages use CLINICFLOW_PUBLIC_URL, or this server's own address when unset."""
    if (tls_cert is None) != (tls_key is None):
        console.print("[red]✗[/] give both --tls-cert and --tls-key (PEM files), or neither")
        raise typer.Exit(2)
    tls = (tls_cert, tls_key) if tls_cert and tls_key else None
    given: dict[str, object] = {"services": services} if services is not None else {}
    if metrics_port is not None:
        given["metrics_port"] = metrics_port
    settings = _served_settings(host, port, tls is not None, **given)
    if settings.metrics_port == port:
        console.print("[red]✗[/] --metrics-port must differ from --port")
        raise typer.Exit(2)
    if workers > 1:
        # Each worker process builds its own settings from the environment: hand it these.
        os.environ["CLINICFLOW_PUBLIC_URL"] = settings.public_url
        os.environ["CLINICFLOW_SERVICES"] = settings.services
        if settings.metrics_port is not None:
            os.environ["CLINICFLOW_METRICS_PORT"] = str(settings.metrics_port)
    _check_config(settings.config_path)
    _serve(settings, host, port, workers, tls, shutdown_seconds)


@app.command()
def worker() -> None:
    """Run the outbox relay and the event consumers until SIGTERM (graceful shutdown)."""
    run_worker(Settings())


@app.command()
def demo(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate the embedded database, load a demo clinic, and serve it."""
    from clinicflow.demo import DEMO_OWNER, DEMO_USER
    from clinicflow.infra.migrate import upgrade
    from clinicflow.simulation import simulated_clinic

    settings = _served_settings(host, port, tls=False)
    _check_config(settings.config_path)
    # The demo runs in the simulated clinic (docs/simulation.md): counseling launches in it.
    made = simulated_clinic(settings.config_path, 8, settings.data_dir / "simulated-clinic.yaml")
    _check_config(made.path)
    settings = settings.model_copy(update={"config_path": made.path})
    asyncio.run(upgrade(settings.database_url))
    try:
        made_count, password = asyncio.run(_seed_demo(settings, made))
    except InvalidRequest as exc:  # e.g. a CLINICFLOW_DEMO_PASSWORD too short for an account
        console.print(f"[red]✗[/] the demo clinic could not be set up: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    base = f"http://{host}:{port}"
    # The booking site first: it is what a visitor opens.
    console.print(f"the clinic's booking site: [bold]{base}/[/]", highlight=False)
    console.print(
        f"[green]demo clinic ready[/] ({made_count} demo bookings added) in "
        f"{settings.database_url}; its clinic file: {made.path}",
        highlight=False,
    )
    console.print(
        f"staff: [bold]{base}/staff[/] (the day's calendar), [bold]{base}/owner[/] (the "
        "dashboard: revenue and waitlists)",
        highlight=False,
    )
    if password:
        console.print(
            f"sign in as {DEMO_USER!r} (front desk) or {DEMO_OWNER!r} (analyst: the dashboard) "
            f"with the password {password!r} (shown once)",
            highlight=False,
        )
    console.print(
        f"the API is described at [bold]{base}/openapi.json[/] "
        f"(reference page: [bold]{base}/docs[/]); try:"
    )
    query = "service=alternative_medicine&visit_type=initial&duration=15"
    console.print(f"  curl '{base}/v1/availability?{query}'")
    if password:
        console.print(
            f"over the API: POST {base}/v1/auth/login with that username and password, then "
            "send the token as `Authorization: Bearer`",
            highlight=False,
        )
    console.print(
        f"lost the password? `clinicflow users reset-password {DEMO_USER}` (or {DEMO_OWNER}) "
        "prints a new one (and ends that account's sessions)",
        highlight=False,
    )
    _serve(settings, host, port)


async def _seed_demo(settings: Settings, made: SimulatedClinic) -> tuple[int, str | None]:
    """Staff accounts, the hand-made demo, then the last DEMO_DAYS simulated: the bookings
    added and the staff password (when the accounts were made now)."""
    from clinicflow.bootstrap import build
    from clinicflow.cli_progress import progress_bar
    from clinicflow.demo import DEMO_DAYS, DEMO_DEMAND, DEMO_SEED, DemoClock, demo_staff, load_demo
    from clinicflow.simulation import DESK, ClinicYear, YearPlan

    clock = DemoClock()  # the demo's past is made at the moments it happened
    container = build(settings, clock=clock)
    try:
        password = await demo_staff(container)  # first: its front desk does the visits
        loaded = await load_demo(container, clock)
        if not loaded.past and not loaded.upcoming:
            return 0, password  # the clinic had bookings already
        plan = YearPlan(DEMO_DAYS, DEMO_SEED, made, DEMO_DEMAND)
        with progress_bar("simulating the demo's recent weeks", DEMO_DAYS, console) as bar:
            tally = await ClinicYear(container, clock, plan, DESK).run(lambda _: bar.advance())
        return loaded.past + loaded.upcoming + sum(tally.statuses.values()), password
    finally:
        await container.aclose()


@db_app.command("migrate")
def db_migrate(revision: str = "head") -> None:
    """Bring the database schema up to `revision` (default: the newest)."""
    from clinicflow.bootstrap._keys import open_keys
    from clinicflow.infra.migrate import upgrade

    settings = Settings()
    asyncio.run(upgrade(settings.database_url, revision))
    console.print(f"[green]migrated[/] {settings.database_url.split('@')[-1]} to {revision}")
    # First set-up makes the key ring here (empty database). A migration job may run where
    # the key file is not mounted: the schema is done either way, so a problem with the
    # ring is reported, not failed on; every process that needs the ring refuses anyway.
    try:
        open_keys(settings.database_url, settings.resolved_keys_file)
    except (KeysUnavailable, OSError) as exc:
        console.print(f"[yellow]key ring not ready:[/] {exc}", highlight=False)


@config_app.command("check")
def config_check(path: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Validate the clinic configuration and print every problem."""
    target = path or Settings().config_path
    _check_config(target)
    console.print(f"[green]{target}: configuration is valid[/]")


def _served_settings(host: str, port: int, tls: bool, **given: object) -> Settings:
    """Settings (from the environment, with `given` over it) whose public URL is where this
    server answers, unless CLINICFLOW_PUBLIC_URL says otherwise (a proxy, a domain)."""
    if not os.environ.get("CLINICFLOW_PUBLIC_URL"):
        given = {"public_url": served_url(host, port, tls), **given}
    try:
        return Settings.model_validate(given)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(map(str, error["loc"])) or "settings"
            console.print(f"[red]✗[/] {where}: {error['msg']}", highlight=False)
        raise typer.Exit(2) from exc


def served_url(host: str, port: int, tls: bool) -> str:
    """The URL a browser on this machine reaches a server bound to `host`:`port` at."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 (naming the wildcard, not binding it)
        host = "127.0.0.1"  # every interface: this machine's loopback is one of them
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    scheme = "https" if tls else "http"
    default = 443 if tls else 80
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


def _check_config(path: Path) -> None:
    from clinicflow.catalog.service import check_config

    problems = check_config(path)
    if problems:
        for item in problems:
            console.print(f"[red]✗[/] {item}", highlight=False)
        console.print(f"{len(problems)} problem(s): fix them and run `clinicflow config check`")
        raise typer.Exit(1)


def _serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int = 1,
    tls: tuple[Path, Path] | None = None,  # certificate and key (PEM): serve HTTPS
    shutdown_seconds: int = 20,
) -> None:
    from clinicflow.gateway import serving
    from clinicflow.gateway.app import create_app
    from clinicflow.infra.logging import configure_logging

    configure_logging()
    if workers > 1:
        from clinicflow.bootstrap._keys import open_keys

        # The key ring is checked (and, on first set-up, made) here first: a missing one
        # refuses before any worker starts, and the workers do not race to create it.
        open_keys(settings.database_url, settings.resolved_keys_file)
        # The workers share the listening sockets, and each takes every connection waiting
        # when it wakes: a burst of new connections could all land on one worker while the
        # other idles. libuv's switch (uvloop) makes each accept one at a time and yield.
        os.environ.setdefault("UV_TCP_SINGLE_ACCEPT", "1")
        config = serving.uvicorn_config(
            settings,
            serving.FACTORY,
            host,
            port,
            workers=workers,
            tls=tls,
            shutdown_seconds=shutdown_seconds,
        )
    else:
        config = serving.uvicorn_config(
            settings, create_app(settings), host, port, tls=tls, shutdown_seconds=shutdown_seconds
        )
    serving.run(config, serving.sockets(settings, host, port))


if __name__ == "__main__":
    app()
