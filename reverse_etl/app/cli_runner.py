"""How every command of `invoice-sync` runs (:mod:`reverse_etl.app.cli`): where its output goes,
its logging, and its one-line errors.

Every command prints the mode line first (sandbox or live), turns a project error into one
line on stderr and a non-zero exit (no traceback unless ``--verbose``). ``--json`` makes the
human output go to stderr (stdout is the JSON run summary, :mod:`reverse_etl.app.run_summary`);
``--quiet`` silences it.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from reverse_etl.app.run_summary import RunSummary, utc_now
from reverse_etl.core.failures import as_project_error
from reverse_etl.core.safe_text import PrintableFormatter, printable
from reverse_etl.core.settings import Settings, load_settings

# Data (invoice numbers, names, HubSpot's and Xero's messages) is never read as Rich markup:
# `INV-[/x]` must print as itself. Styling is applied with rich.text.Text instead.
console = Console(markup=False, highlight=False, soft_wrap=True)  # log lines stay whole
err_console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
T = TypeVar("T")

state: dict[str, Any] = {"verbose": False, "quiet": False, "json": False}


def configure_logging(*, verbose: bool, quiet: bool, log_level: str | None) -> None:
    """The global options' effect: the log level, and every log line made printable."""
    state.update(verbose=verbose, quiet=quiet, json=False)
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


def current_console() -> Console:
    """Where human output goes: stdout; stderr under --json (stdout is the JSON); nowhere
    under --quiet."""
    if state["quiet"]:
        return Console(quiet=True)
    if state["json"]:
        return err_console
    return console


def run_command(
    work: Callable[[Settings], T], *, announce: bool = True, summary: RunSummary | None = None
) -> T:
    """Load settings, print the mode line, run ``work``; project errors become one line.
    With ``summary`` and --json, the summary is printed on stdout at the end, whatever happened.
    """
    try:
        settings = load_settings()
        if announce:
            current_console().print(settings.mode_line, highlight=False)
        return work(settings)
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:  # any failure: one line naming the cause, never a traceback
        error = as_project_error(exc)
        if summary is not None:
            summary.fail(error, exit_code=error.exit_code, stage=summary.stage)
        if state["verbose"]:  # plain, so an API's text in it is made printable too
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
        if summary is not None and state["json"]:
            summary.finished_at = utc_now()
            typer.echo(summary.to_json())


def new_summary(command: str, as_json: bool, **fields: Any) -> RunSummary:
    """The run summary of this command; --json makes the human output go to stderr."""
    state["json"] = as_json
    summary = RunSummary(command=command, **fields)
    if summary.run_id is None and command in ("extract", "transform"):
        summary.run_id = str(uuid.uuid4())
    return summary
