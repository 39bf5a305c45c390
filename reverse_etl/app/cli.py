"""`invoice-sync`: the command line. Commands only; the work lives in plain modules.

Every command prints the mode line first (sandbox or live), turns a project error into one
line on stderr and a non-zero exit (no traceback unless ``--verbose``), and never prints a
secret: ``pretty_exceptions_show_locals=False`` keeps tokens out of tracebacks.

Exit codes, one per outcome (README "Exit codes"): 0 success, 1 failed, 2 usage error (Click's),
3 finished but HubSpot rejected some records, 4 busy (another run holds the warehouse).
``--verbose``/``-v``, ``--quiet``/``-q`` and ``--log-level`` are accepted before or after the
command (``invoice-sync sync -q``). ``--json`` (sync, push, extract, transform) prints one JSON
object on stdout (:mod:`reverse_etl.app.run_summary`); the human lines then go to stderr.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from reverse_etl.app.cli_options import EPILOG, LOG_LEVELS, GlobalOptionsGroup, since_in_range
from reverse_etl.app.run_environment import run_environment
from reverse_etl.app.run_summary import RunSummary, utc_now
from reverse_etl.core.failures import as_project_error
from reverse_etl.core.private_files import owner_only_files
from reverse_etl.core.safe_text import PrintableFormatter, printable
from reverse_etl.core.settings import Settings, load_settings

app = typer.Typer(
    name="invoice-sync",
    help="Keep a HubSpot custom object 'Invoices' in step with Xero; keep the history in SQL.",
    epilog=EPILOG,
    cls=GlobalOptionsGroup,
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
console = Console(markup=False, highlight=False, soft_wrap=True)  # log lines stay whole
err_console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
log = logging.getLogger("invoice_sync")
T = TypeVar("T")

_state: dict[str, Any] = {"verbose": False, "quiet": False, "json": False}


def _package_version() -> str:
    try:
        return version("xero-hubspot-invoices")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"invoice-sync {_package_version()}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logging and full tracebacks.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only errors (and --json output).")
    ] = False,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            metavar="LEVEL",
            help="Log level: debug, info, warning or error (default info; -v means debug).",
        ),
    ] = None,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Keep a HubSpot custom object 'Invoices' in step with Xero; keep the history in SQL."""
    owner_only_files()  # finance data is never created readable by others (private_files)
    if log_level is not None and log_level.lower() not in LOG_LEVELS:
        raise typer.BadParameter(
            f"{log_level!r} is not one of {', '.join(LOG_LEVELS)}.", param_hint="--log-level"
        )
    _state.update(verbose=verbose, quiet=quiet, json=False)
    level = (
        logging.DEBUG
        if verbose
        else getattr(logging, log_level.upper())
        if log_level
        else logging.WARNING
        if quiet
        else logging.INFO
    )
    handler = logging.StreamHandler()  # every log line with its control characters visible
    handler.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger().setLevel(level)
    for noisy in ("urllib3", "dlt", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _console() -> Console:
    """Where human output goes: stdout; stderr under --json (stdout is the JSON); nowhere
    under --quiet."""
    if _state["quiet"]:
        return Console(quiet=True)
    if _state["json"]:
        return err_console
    return console


def _run(
    work: Callable[[Settings], T], *, announce: bool = True, summary: RunSummary | None = None
) -> T:
    """Load settings, print the mode line, run ``work``; project errors become one line.
    With ``summary`` and --json, the summary is printed on stdout at the end, whatever happened.
    """
    try:
        settings = load_settings()
        if announce:
            _console().print(settings.mode_line, highlight=False)
        return work(settings)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:  # any failure: one line naming the cause, never a traceback
        error = as_project_error(exc)
        if summary is not None:
            summary.fail(error, exit_code=error.exit_code, stage=summary.stage)
        if _state["verbose"]:  # plain, so an API's text in it is made printable too
            trace = "".join(traceback.format_exception(exc))
            err_console.print(printable(trace, keep_newlines=True), markup=False, end="")
        # the message may quote Xero/HubSpot data: never render it as markup or controls
        message = printable(
            " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        )
        err_console.print(
            Text.assemble((f"{type(error).__name__}:", "red"), " ", message),
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(error.exit_code) from None
    finally:
        if summary is not None and _state["json"]:
            summary.finished_at = utc_now()
            typer.echo(summary.to_json())


def _json_option() -> Any:
    return typer.Option("--json", help="Print a JSON run summary on stdout (for monitoring).")


@app.command()
def config() -> None:
    """Show the configuration in force (secrets masked) and whether it is sandbox or live."""

    def show(settings: Settings) -> None:
        table = Table("variable", "value")
        for name, value in settings.describe():
            table.add_row(Text(name), Text(value))
        console.print(table)  # what the user asked for, even with --quiet

    _run(show)


@app.command()
def setup() -> None:
    """Create the HubSpot custom object and its properties (idempotent; never deletes)."""
    from reverse_etl.app.sandbox_mode import sandbox_if_needed
    from reverse_etl.push.schema import ensure_schema

    def work(settings: Settings) -> None:
        with sandbox_if_needed(settings):
            report = ensure_schema(settings)
        _console().print(printable(report.summary()), highlight=False)

    _run(work)


@app.command()
def extract(
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Reload everything, not only what changed.")
    ] = False,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Load invoices modified since this date, once.",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            metavar="YYYY-MM-DD",
            callback=since_in_range,
        ),
    ] = None,
    continue_on_error: Annotated[
        bool,
        typer.Option(
            "--continue-on-error",
            help="Kept for compatibility: bad invoices are always quarantined now.",
            hidden=True,
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Fail on the first unparseable invoice instead of quarantining it "
            "(raw_xero.quarantine).",
        ),
    ] = False,
    as_json: Annotated[bool, _json_option()] = False,
) -> None:
    """Load what changed in Xero, and HubSpot's current records, into the warehouse."""
    from pipelines.run import run_extract
    from reverse_etl.app.stage_progress import StageProgress

    summary = _summary("extract", as_json, stage="extract")

    def work(settings: Settings) -> None:
        out = _console()
        display = StageProgress(out if not as_json else None)
        with run_environment(settings, "extract"):
            try:
                report = run_extract(
                    settings,
                    full_refresh=full_refresh,
                    since=since.date() if since else None,
                    strict=strict,
                    continue_on_error=continue_on_error,
                    progress=display.extract_hook(),
                )
            finally:
                display.stop()
        summary.stages["extract"] = report.as_dict()
        out.print(printable(report.summary(), keep_newlines=True), highlight=False, markup=False)
        report.raise_for_limit_stops()  # exit 75: stopped at Xero's day limit, resumes next run
        if report.xero.quarantined:  # exit 3, as `sync`: finished, records set aside
            from reverse_etl.core.errors import QuarantinedRecordsError

            raise QuarantinedRecordsError(
                f"{len(report.xero.quarantined)} Xero record(s) set aside in "
                "raw_xero.quarantine (named above); the others were loaded. Fix them in Xero: "
                "they are read again when they change."
            )

    _run(work, summary=summary)


@app.command()
def transform(
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Also run dbt's unit tests (the SQL logic on fixed rows), as CI does."
        ),
    ] = False,
    as_json: Annotated[bool, _json_option()] = False,
) -> None:
    """Run `dbt build`: every model and data test (the daily build); `--full` adds the unit
    tests."""
    from reverse_etl.app.stage_progress import StageProgress
    from reverse_etl.core.build_plan import DAILY, FULL
    from reverse_etl.transform import run_transform

    summary = _summary("transform", as_json, stage="transform")

    def work(settings: Settings) -> None:
        out = _console()
        display = StageProgress(out if not as_json else None)
        with run_environment(settings, "transform", sandbox=False):
            try:
                report = run_transform(
                    settings, scope=FULL if full else DAILY, progress=display.transform_hook()
                )
            finally:
                display.stop()
        summary.stages["transform"] = report.as_dict()
        out.print(printable(report.summary(), keep_newlines=True), highlight=False, markup=False)

    _run(work, summary=summary)


@app.command()
def push(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; write nothing to HubSpot.")
    ] = False,
    as_json: Annotated[bool, _json_option()] = False,
) -> None:
    """Write the action table to HubSpot in batches; log every record; send alerts."""
    from reverse_etl.push.invoices import run_push

    summary = _summary("push", as_json, stage="push", dry_run=dry_run)

    def work(settings: Settings) -> None:
        with run_environment(settings, "push"):
            report = run_push(settings, dry_run=dry_run, console=_console())
        summary.run_id = report.run_id
        summary.stages["push"] = report.as_dict()
        summary.rejected = report.rejected_as_dicts()
        report.raise_for_rejections()

    _run(work, summary=summary)


@app.command(epilog=EPILOG)
def sync(
    every: Annotated[
        str | None,
        typer.Option(help="Keep running on this schedule, e.g. 15m, 1h (default: run once)."),
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Reload everything from Xero and HubSpot.")
    ] = False,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Read Xero invoices modified since this date, for this run only.",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            metavar="YYYY-MM-DD",
            callback=since_in_range,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Extract and transform, then print the plan; write nothing to HubSpot.",
        ),
    ] = False,
    as_json: Annotated[bool, _json_option()] = False,
) -> None:
    """Extract → transform → push, once (or --every 1h), under a lock. Exit 0/1/3/4/75."""
    from reverse_etl.app.sync import SyncReport, run_sync_command

    if as_json and every is not None:
        raise typer.BadParameter("--json describes one run: use it without --every.")
    summary = _summary("sync", as_json, dry_run=dry_run)
    report = SyncReport(dry_run=dry_run)
    summary.run_id = report.run_id

    def work(settings: Settings) -> None:
        try:
            run_sync_command(
                settings,
                every=every,
                full_refresh=full_refresh,
                console=_console(),
                dry_run=dry_run,
                since=since.date() if since else None,
                report=report,
                progress=not as_json,
            )
        finally:
            summary.stage = report.stage
            summary.stages = report.stages_as_dict()
            if report.push is not None:
                summary.rejected = report.push.rejected_as_dicts()

    _run(work, summary=summary)


def _summary(command: str, as_json: bool, **fields: Any) -> RunSummary:
    """The run summary of this command; --json makes the human output go to stderr."""
    _state["json"] = as_json
    summary = RunSummary(command=command, **fields)
    if summary.run_id is None and command in ("extract", "transform"):
        summary.run_id = str(uuid.uuid4())
    return summary


@app.command()
def sql(
    query: Annotated[
        str | None,
        typer.Argument(help="SQL to run; omit it for an interactive session (Harlequin)."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table (terminal), csv or json (scripts).")
    ] = "table",
) -> None:
    """Query the published analysts' database (ANALYTICS_PATH), read-only."""
    import subprocess
    import sys

    from reverse_etl.analysts.sql import interactive_command, interactive_init_script, run_query
    from reverse_etl.core.errors import AnalystQueryError

    def work(settings: Settings) -> None:
        if output_format not in ("table", "csv", "json"):
            raise AnalystQueryError(f"--format {output_format!r}: use table, csv or json.")
        if query is None:
            with interactive_init_script() as init_script:
                argv = interactive_command(settings.analytics_path, init_script)
                code = subprocess.call(argv)
            raise typer.Exit(code)
        run_query(settings.analytics_path, query, sys.stdout, output_format, _console())  # type: ignore[arg-type]

    _run(work, announce=False)


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
    except (
        RuntimeError,
        ValueError,
    ) as exc:  # a port already in use; an unknown tier  # a port already in use
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
    from reverse_etl.app.webhook_serve import serve

    _run(lambda settings: serve(settings, host=host, port=port, console=console))


if __name__ == "__main__":
    app()
