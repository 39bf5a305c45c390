"""What the push shows a person: the dry-run plan, progress, and the closing summary table.

A rich progress bar when the console is a terminal, plain log lines otherwise (cron, CI).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from reverse_etl.core.safe_text import printable
from reverse_etl.hubspot.properties import UPSERT_KEY
from reverse_etl.push.actions import Action
from reverse_etl.push.report import PushReport

log = logging.getLogger("reverse_etl.push.invoices")

DRY_RUN_SAMPLE = 10


def print_plan(actions: Sequence[Action], counts: dict[str, int], console: Console | None) -> None:
    """`push --dry-run`: counts per action and a sample of what each record would get."""
    lines = [
        f"Dry run: {len(actions)} invoice(s) to write: "
        + (", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "none")
    ]
    for action in actions[:DRY_RUN_SAMPLE]:
        props = action.payload()["properties"]
        shown = ", ".join(f"{k}={v!r}" for k, v in list(props.items())[:6] if k != UPSERT_KEY)
        more = " …" if len(props) > 7 else ""
        number = action.values.get("invoice_number") or action.xero_invoice_id
        lines.append(f"  {action.action} {number}: {shown}{more}")
    if len(actions) > DRY_RUN_SAMPLE:
        lines.append(f"  … and {len(actions) - DRY_RUN_SAMPLE} more")
    for line in lines:
        if console is not None:
            console.print(printable(line), highlight=False, markup=False)
        else:
            log.info(line)


def summary_table(report: PushReport) -> Table:
    """The one-row table printed at the end of a push."""
    table = Table(
        "run", "status", "created", "updated", "rejected", "HubSpot calls", "seconds", title="Push"
    )
    table.add_row(
        report.run_id[:8],
        report.status,
        str(report.inserted),
        str(report.updated),
        str(report.rejected),
        str(report.hubspot_calls),
        f"{report.seconds:.1f}",
    )
    return table


class PushProgress:
    """A rich progress bar on a terminal; a log line per ~10% otherwise."""

    def __init__(self, console: Console | None, total: int) -> None:
        self.total = total
        self.done = 0
        self._next_log = max(1, total // 10)
        self._bar: Progress | None = None
        if console is not None and console.is_terminal and total:
            self._bar = Progress(console=console, transient=False)
            self._bar.start()
            self._task = self._bar.add_task("Pushing to HubSpot", total=total)

    def advance(self, n: int, report: PushReport) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, advance=n)
        elif self.done >= self._next_log or self.done == self.total:
            log.info(
                "Pushed %d/%d (%d created, %d updated, %d rejected).",
                self.done,
                self.total,
                report.inserted,
                report.updated,
                report.rejected,
            )
            self._next_log = self.done + max(1, self.total // 10)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
