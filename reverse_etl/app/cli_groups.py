"""The command groups of `invoice-sync` beside the sync itself: ``sandbox`` (the local Xero
and HubSpot emulators) and ``webhooks`` (near-real-time sync); registered on the app by
:mod:`reverse_etl.app.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reverse_etl.app.cli_runner import console, err_console, run_command

sandbox_app = typer.Typer(help="Run the local Xero and HubSpot emulators.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Near-real-time sync from Xero webhooks.", no_args_is_help=True)


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
    hubspot_numbered_paths: Annotated[
        bool,
        typer.Option(
            envvar="SANDBOX_HUBSPOT_NUMBERED_PATHS",
            help="Serve HubSpot's numbered API paths (/crm/v3/…); off: they answer 404.",
        ),
    ] = True,
    xero_tier: Annotated[
        str | None,
        typer.Option(
            help="Xero app tier for the day limit: starter (1,000 calls/day), standard "
            "(5,000), or a number of calls.",
            metavar="TIER",
        ),
    ] = None,
) -> None:
    """Start both emulators on 127.0.0.1 with demo data and print the environment to use."""
    # imported when the command runs: the emulators (aiohttp and the demo data) are slow to
    # import, and every other command would pay for it at start-up
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
            hubspot_numbered_paths=hubspot_numbered_paths,
            xero_tier=xero_tier,
        )
    except (RuntimeError, ValueError) as exc:  # a port already in use; an unknown tier
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
    from sandbox.server import post_activity  # start-up time: as `sandbox up`

    console.print(post_activity(xero_url, hours=hours), highlight=False)


@webhooks_app.command("serve")
def webhooks_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8780,
) -> None:
    """Receive Xero webhooks (signature checked) and sync the invoices they name."""
    # start-up time: the webhook batch imports dlt and the HubSpot SDK (seconds)
    from reverse_etl.app.webhook_serve import serve

    run_command(lambda settings: serve(settings, host=host, port=port, console=console))
