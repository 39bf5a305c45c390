"""Options of the whole tool, accepted before or after the command.

Click parses a group's options only before the subcommand, so ``invoice-sync sync --quiet``
would be a usage error. :class:`GlobalOptionsGroup` moves the tool's global options found after
the command to the front before Click parses, which keeps one definition of each option (on the
app's callback) and still lists them in ``invoice-sync --help``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer
from typer.core import TyperGroup

# Options of the whole tool that may also follow the command; each with its value count.
GLOBAL_OPTIONS = {"-v": 0, "--verbose": 0, "-q": 0, "--quiet": 0, "--log-level": 1}
LOG_LEVELS = ("debug", "info", "warning", "error")

EPILOG = (
    "Exit codes: 0 success; 1 failed; 2 usage error; 3 finished, but HubSpot rejected some "
    "records (retried next run); 4 busy: another run holds the warehouse, nothing was done; "
    "75 stopped at Xero's day limit, resumes next run. "
    "-v, -q and --log-level may also follow the command."
)


def hoist_global_options(args: list[str]) -> list[str]:
    """Move the tool's global options found after the command to the front, so
    ``invoice-sync sync --quiet`` means ``invoice-sync --quiet sync``."""
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            takes = GLOBAL_OPTIONS[name] if "=" not in arg else 0
            hoisted += args[index : index + 1 + takes]
            index += 1 + takes
            continue
        rest.append(arg)
        index += 1
    return hoisted + rest


class GlobalOptionsGroup(TyperGroup):
    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))


EARLIEST_SINCE = date(1900, 1, 1)


def since_in_range(value: datetime | None) -> datetime | None:
    """``--since`` becomes Xero's ``If-Modified-Since`` header (UTC): a date Xero answers with a
    400 (``0001-01-01``), or one in the future (which silently reads nothing), is a usage error
    here (exit 2) instead of a failed run."""
    if value is None:
        return None
    today = datetime.now(UTC).date()
    if not EARLIEST_SINCE <= value.date() <= today:
        raise typer.BadParameter(  # short: Typer boxes it at 80 columns
            f"{value.date().isoformat()}: use {EARLIEST_SINCE.isoformat()} to today (UTC)."
        )
    return value


def since_option(help_text: str) -> typer.models.OptionInfo:
    """``--since YYYY-MM-DD`` (``extract`` and ``sync``): one definition of its formats and
    range check."""
    return typer.Option(
        help=help_text,
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        metavar="YYYY-MM-DD",
        callback=since_in_range,
    )


def json_option() -> typer.models.OptionInfo:
    return typer.Option("--json", help="Print a JSON run summary on stdout (for monitoring).")
