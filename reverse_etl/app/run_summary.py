"""The machine-readable run summary that ``--json`` prints: one JSON object on stdout.

For monitoring: a cron wrapper or a scheduler parses it instead of scraping log lines. Keys
(documented in the README, "Monitoring"; parsed in ``tests/e2e/test_run_log.py``):

``command``, ``run_id``, ``dry_run``, ``started_at``/``finished_at`` (ISO 8601 UTC),
``outcome`` (``success`` | ``partial`` — finished, some records rejected | ``failed`` |
``busy`` — another run holds the warehouse, nothing was done | ``stopped`` — the Xero read
stopped at the day limit and resumes next run), ``exit_code`` (the process's),
``stages`` (per stage its counts and ``seconds``: ``extract``, ``transform``, ``freshness``,
``push``; a stage that did not run is absent), ``rejected`` (each rejected record: id, invoice
number, action, HubSpot's category and message) and ``errors`` (``type``, ``message``,
``stage``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reverse_etl.core.errors import EXIT_BUSY, EXIT_FAILED, EXIT_OK, EXIT_REJECTED, EXIT_STOPPED

OUTCOMES = {
    EXIT_OK: "success",
    EXIT_REJECTED: "partial",
    EXIT_BUSY: "busy",
    EXIT_STOPPED: "stopped",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RunSummary:
    """Filled as a command runs; :meth:`to_json` renders it once at the end, whatever happened."""

    command: str
    run_id: str | None = None
    dry_run: bool = False
    started_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None
    exit_code: int = EXIT_OK
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    stage: str | None = None  # the stage running, named in an error (not rendered itself)

    @property
    def outcome(self) -> str:
        return OUTCOMES.get(self.exit_code, "failed")

    def fail(
        self, exc: BaseException, *, exit_code: int = EXIT_FAILED, stage: str | None = None
    ) -> None:
        """Record the error that ended the run (rejections are counted, not errors)."""
        self.exit_code = exit_code
        if exit_code != EXIT_REJECTED:
            self.errors.append({"type": type(exc).__name__, "message": str(exc), "stage": stage})

    def as_dict(self) -> dict[str, Any]:
        finished = self.finished_at or utc_now()
        return {
            "command": self.command,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(timespec="milliseconds"),
            "finished_at": finished.isoformat(timespec="milliseconds"),
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "stages": self.stages,
            "rejected": self.rejected,
            "errors": self.errors,
        }

    def to_json(self) -> str:
        """ASCII JSON: every control character of an API's text (C1's CSI, a bidi override)
        arrives as a ``\\u`` escape, never raw on a terminal; a decoder restores it exactly."""
        return json.dumps(self.as_dict(), default=str)
