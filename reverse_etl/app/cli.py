"""`invoice-sync`: the command line. Commands only; the work lives in plain modules.

Every command prints the mode line first (sandbox or live), turns a project error into one
line on stderr and a non-zero exit (no traceback unless ``--verbose``), and never prints a
secret: ``pretty_exceptions_show_locals=False`` keeps tokens out of tracebacks
(:mod:`reverse_etl.app.cli_runner`).

Exit codes, one per outcome (README "Exit codes"): 0 success, 1 failed, 2 usage error (Click's),
3 finished but HubSpot rejected some records, 4 busy (another run holds the warehouse).
``--verbose``/``-v``, ``--quiet``/``-q`` and ``--log-level`` are accepted before or after the
command (``invoice-sync sync -q``). ``--json`` (sync, push, extract, transform) prints one JSON
object on stdout (:mod:`reverse_etl.app.run_summary`); the human lines then go to stderr.

Commands import the modules that do their work when they run, each with its reason: dlt, dbt,
DuckDB, the HubSpot SDK and the emulators take from a fraction of a second to seconds to
import, which `--help` and every other command would otherwise pay at start-up.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from reverse_etl.app.cli_groups import sandbox_app, webhooks_app
from reverse_etl.app.cli_options import (
    EPILOG,
    LOG_LEVELS,
    GlobalOptionsGroup,
    json_option,
    since_option,
)
from reverse_etl.app.cli_runner import (
    configure_logging,
    console,
    current_console,
    new_summary,
    run_command,
)
from reverse_etl.app.stage_progress import StageProgress
from reverse_etl.core.errors import AnalystQueryError, QuarantinedRecordsError
from reverse_etl.core.private_files import owner_only_files
from reverse_etl.core.safe_text import printable
from reverse_etl.core.settings import Settings

app = typer.Typer(
    name="invoice-sync",
    help="Keep a HubSpot custom object 'Invoices' in step with Xero; keep the history in SQL.",
    epilog=EPILOG,
    cls=GlobalOptionsGroup,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(webhooks_app, name="webhooks")


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
    configure_logging(verbose=verbose, quiet=quiet, log_level=log_level)


@app.command()
def config() -> None:
    """Show the configuration in force (secrets masked) and whether it is sandbox or live."""

    def show(settings: Settings) -> None:
        table = Table("variable", "value")
        for name, value in settings.describe():
            table.add_row(Text(name), Text(value))
        console.print(table)  # what the user asked for, even with --quiet

    run_command(show)


@app.command()
def setup() -> None:
    """Create the HubSpot custom object and its properties, and on PostgreSQL the warehouse's
    schemas (idempotent; never deletes)."""
    # start-up time: sandbox mode imports requests; the schema, the HubSpot client
    from reverse_etl.app.sandbox_mode import sandbox_if_needed
    from reverse_etl.core.warehouse_setup import ensure_warehouse
    from reverse_etl.push.schema import ensure_schema

    def work(settings: Settings) -> None:
        created = ensure_warehouse(settings.warehouse)
        if created:
            current_console().print(
                printable(f"Warehouse {settings.warehouse.label}: created {', '.join(created)}."),
                highlight=False,
            )
        with sandbox_if_needed(settings):
            report = ensure_schema(settings)
        current_console().print(printable(report.summary()), highlight=False)

    run_command(work)


@app.command()
def extract(
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Reload everything, not only what changed.")
    ] = False,
    since: Annotated[
        datetime | None, since_option("Load invoices modified since this date, once.")
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
    as_json: Annotated[bool, json_option()] = False,
) -> None:
    """Load what changed in Xero, and HubSpot's current records, into the warehouse."""
    # start-up time: dlt (seconds to import); sandbox mode imports requests
    from pipelines.run import run_extract
    from reverse_etl.app.run_environment import run_environment

    summary = new_summary("extract", as_json, stage="extract")

    def work(settings: Settings) -> None:
        out = current_console()
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
        _raise_for_quarantined(report)

    run_command(work, summary=summary)


def _raise_for_quarantined(report: Any) -> None:
    """Exit 3, as `sync`: the extract finished, with records set aside."""
    quarantined = report.xero.quarantined
    if quarantined:
        raise QuarantinedRecordsError(
            f"{len(quarantined)} Xero record(s) set aside in "
            "raw_xero.quarantine (named above); the others were loaded. Fix them in Xero: "
            "they are read again when they change."
        )


@app.command()
def transform(
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Also run dbt's unit tests (the SQL logic on fixed rows), as CI does."
        ),
    ] = False,
    as_json: Annotated[bool, json_option()] = False,
) -> None:
    """Run `dbt build`: every model and data test (the daily build); `--full` adds the unit
    tests."""
    # start-up time: DuckDB (the build plan, the dbt stage); sandbox mode imports requests
    from reverse_etl.app.run_environment import run_environment
    from reverse_etl.core.build_plan import DAILY, FULL
    from reverse_etl.transform import run_transform

    summary = new_summary("transform", as_json, stage="transform")

    def work(settings: Settings) -> None:
        out = current_console()
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

    run_command(work, summary=summary)


@app.command()
def push(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; write nothing to HubSpot.")
    ] = False,
    as_json: Annotated[bool, json_option()] = False,
) -> None:
    """Write the action table to HubSpot in batches; log every record; send alerts."""
    # start-up time: the HubSpot SDK (seconds to import); sandbox mode imports requests
    from reverse_etl.app.run_environment import run_environment
    from reverse_etl.push.invoices import run_push

    summary = new_summary("push", as_json, stage="push", dry_run=dry_run)

    def work(settings: Settings) -> None:
        with run_environment(settings, "push"):
            report = run_push(settings, dry_run=dry_run, console=current_console())
        summary.run_id = report.run_id
        summary.stages["push"] = report.as_dict()
        summary.rejected = report.rejected_as_dicts()
        report.raise_for_rejections()

    run_command(work, summary=summary)


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
        since_option("Read Xero invoices modified since this date, for this run only."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Extract and transform, then print the plan; write nothing to HubSpot.",
        ),
    ] = False,
    as_json: Annotated[bool, json_option()] = False,
) -> None:
    """Extract → transform → push, once (or --every 1h), under a lock. Exit 0/1/3/4/75."""
    # start-up time: the sync's stages import DuckDB and dbt's runner, and dlt when they run
    from reverse_etl.app.sync import SyncReport, run_sync_command

    if as_json and every is not None:
        raise typer.BadParameter("--json describes one run: use it without --every.")
    summary = new_summary("sync", as_json, dry_run=dry_run)
    report = SyncReport(dry_run=dry_run)
    summary.run_id = report.run_id

    def work(settings: Settings) -> None:
        try:
            run_sync_command(
                settings,
                every=every,
                full_refresh=full_refresh,
                console=current_console(),
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

    run_command(work, summary=summary)


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
    """Query the published analysts' database (ANALYTICS_PATH; on PostgreSQL the warehouse),
    read-only."""
    # start-up time: DuckDB
    from reverse_etl.analysts.sql import (
        analysts_source,
        interactive_command,
        interactive_init_script,
        run_query,
    )

    def work(settings: Settings) -> None:
        if output_format not in ("table", "csv", "json"):
            raise AnalystQueryError(f"--format {output_format!r}: use table, csv or json.")
        if query is None:
            with interactive_init_script() as init_script:
                argv = interactive_command(analysts_source(settings), init_script)
                code = subprocess.call(argv)
            raise typer.Exit(code)
        source = analysts_source(settings)
        run_query(source, query, sys.stdout, output_format, current_console())  # type: ignore[arg-type]

    run_command(work, announce=False)


if __name__ == "__main__":
    app()
