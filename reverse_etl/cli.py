"""`invoice-sync`: the command line. Commands only; the work lives in plain modules.

Every command prints the mode line first (sandbox or live), turns a project error into one
line on stderr and a non-zero exit (no traceback unless ``--verbose``), and never prints a
secret: ``pretty_exceptions_show_locals=False`` keeps tokens out of tracebacks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reverse_etl.failures import as_project_error
from reverse_etl.lock import sync_lock
from reverse_etl.settings import Settings, load_settings

app = typer.Typer(
    name="invoice-sync",
    help="Keep a HubSpot custom object 'Invoices' in step with Xero; keep the history in SQL.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
sandbox_app = typer.Typer(help="Run the local Xero and HubSpot emulators.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Near-real-time sync from Xero webhooks.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(webhooks_app, name="webhooks")

# Data (invoice numbers, names, HubSpot's and Xero's messages) is never read as Rich markup:
# `INV-[/x]` must print as itself. Styling is applied with rich.text.Text instead.
console = Console(markup=False, highlight=False)
err_console = Console(stderr=True, markup=False, highlight=False)
log = logging.getLogger("invoice_sync")
T = TypeVar("T")

_state = {"verbose": False}


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logging and full tracebacks.")
    ] = False,
) -> None:
    """Keep a HubSpot custom object 'Invoices' in step with Xero; keep the history in SQL."""
    _state["verbose"] = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("urllib3", "dlt", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _run(work: Callable[[Settings], T], *, announce: bool = True) -> T:
    """Load settings, print the mode line, run ``work``; project errors become one line."""
    try:
        settings = load_settings()
        if announce:
            console.print(settings.mode_line, highlight=False)
        return work(settings)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:  # any failure: one line naming the cause (item: no tracebacks)
        error = as_project_error(exc)
        if _state["verbose"]:
            err_console.print_exception(show_locals=False)
        message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        err_console.print(
            Text.assemble((f"{type(error).__name__}:", "red"), " ", message), soft_wrap=True
        )
        raise typer.Exit(error.exit_code) from None


@app.command()
def config() -> None:
    """Show the configuration in force (secrets masked) and whether it is sandbox or live."""

    def show(settings: Settings) -> None:
        table = Table("variable", "value")
        for name, value in settings.describe():
            table.add_row(Text(name), Text(value))
        console.print(table)

    _run(show)


@app.command()
def setup() -> None:
    """Create the HubSpot custom object and its properties (idempotent; never deletes)."""
    from reverse_etl.sandbox_mode import sandbox_if_needed
    from reverse_etl.schema import ensure_schema

    def work(settings: Settings) -> None:
        with sandbox_if_needed(settings):
            report = ensure_schema(settings)
        console.print(report.summary(), highlight=False)

    _run(work)


@app.command()
def extract(
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Reload everything, not only what changed.")
    ] = False,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Load invoices modified since this date (YYYY-MM-DD), once.",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        ),
    ] = None,
    continue_on_error: Annotated[
        bool,
        typer.Option(
            "--continue-on-error",
            help="Write unparseable invoices to raw_xero.invoice_rejects instead of failing.",
        ),
    ] = False,
) -> None:
    """Load what changed in Xero, and HubSpot's current records, into the warehouse."""
    from pipelines.run import run_extract
    from reverse_etl.sandbox_mode import sandbox_if_needed

    def work(settings: Settings) -> None:
        with sync_lock(settings.warehouse_path, "extract"), sandbox_if_needed(settings):
            report = run_extract(
                settings,
                full_refresh=full_refresh,
                since=since.date() if since else None,
                continue_on_error=continue_on_error,
            )
        console.print(report.summary(), highlight=False)

    _run(work)


@app.command()
def transform() -> None:
    """Run `dbt build`: staging, marts and the HubSpot action table, with their tests."""
    from reverse_etl.transform import run_transform

    def work(settings: Settings) -> None:
        with sync_lock(settings.warehouse_path, "transform"):
            report = run_transform(settings)
        console.print(report.summary(), highlight=False)

    _run(work)


@app.command()
def push(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; write nothing to HubSpot.")
    ] = False,
) -> None:
    """Write the action table to HubSpot in batches; log every record; send alerts."""
    from reverse_etl.push import run_push
    from reverse_etl.sandbox_mode import sandbox_if_needed

    def work(settings: Settings) -> None:
        with sync_lock(settings.warehouse_path, "push"), sandbox_if_needed(settings):
            report = run_push(settings, dry_run=dry_run, console=console)
        report.raise_for_rejections()

    _run(work)


@app.command()
def sync(
    every: Annotated[
        str | None,
        typer.Option(help="Keep running on this schedule, e.g. 15m, 1h (default: run once)."),
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Reload everything from Xero and HubSpot.")
    ] = False,
) -> None:
    """Extract → transform → push, once (or --every 1h), under a lock. Exit 0/1/2."""
    from reverse_etl.sync import run_sync_command

    _run(
        lambda settings: run_sync_command(
            settings, every=every, full_refresh=full_refresh, console=console
        )
    )


@sandbox_app.command("up")
def sandbox_up(
    xero_port: Annotated[int, typer.Option(help="Port of the Xero emulator.")] = 18710,
    hubspot_port: Annotated[int, typer.Option(help="Port of the HubSpot emulator.")] = 18720,
    invoices: Annotated[int, typer.Option(help="Demo invoices on first start.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the demo data generator.")] = 7,
    state_dir: Annotated[
        Path, typer.Option(help="Where the emulators keep their state between runs.")
    ] = Path("warehouse/sandbox"),
    latency_ms: Annotated[int, typer.Option(help="Simulated round-trip latency.")] = 0,
) -> None:
    """Start both emulators on 127.0.0.1 with demo data and print the environment to use."""
    from sandbox.server import serve_forever

    try:
        serve_forever(
            xero_port=xero_port,
            hubspot_port=hubspot_port,
            invoices=invoices,
            seed=seed,
            state_dir=state_dir,
            latency_ms=latency_ms,
            console=console,
        )
    except RuntimeError as exc:  # a port already in use
        err_console.print(
            f"{exc}. Stop the other process or pass --xero-port/--hubspot-port.", highlight=False
        )
        raise typer.Exit(1) from None


@sandbox_app.command("activity")
def sandbox_activity(
    hours: Annotated[float, typer.Option(help="Hours of business to simulate.")] = 1.0,
    xero_url: Annotated[str, typer.Option(help="Base URL of the running Xero emulator.")] = (
        "http://127.0.0.1:18710"
    ),
) -> None:
    """Simulate business in the running Xero emulator: new, paid, voided and edited invoices."""
    from sandbox.server import post_activity

    console.print(post_activity(xero_url, hours=hours), highlight=False)


@webhooks_app.command("serve")
def webhooks_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8780,
) -> None:
    """Receive Xero webhooks (signature checked) and sync the invoices they name."""
    from reverse_etl.webhooks import serve

    _run(lambda settings: serve(settings, host=host, port=port, console=console))


if __name__ == "__main__":
    app()
