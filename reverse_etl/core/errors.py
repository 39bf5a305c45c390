"""One exception hierarchy for the whole tool.

Errors are raised where the cause is known, carry a message a user can act on (what failed,
which record or variable, and the fix), and are printed once at the CLI edge without a
traceback unless ``--verbose`` is given.
"""

from __future__ import annotations

# Exit codes, one per outcome (README "Exit codes"; `invoice-sync --help`). 2 is Click's own
# usage error (an unknown option, a bad value), so no outcome of a run uses it.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_BUSY = 4
EXIT_STOPPED = 75  # sysexits' EX_TEMPFAIL: stopped at Xero's day limit, resumes next run


class InvoiceSyncError(Exception):
    """Base class: every error the CLI prints as one line and exits non-zero for."""

    exit_code: int = EXIT_FAILED


class ConfigError(InvoiceSyncError):
    """The environment / .env configuration is missing, half-set or malformed."""


class XeroError(InvoiceSyncError):
    """Xero answered with something we cannot continue from."""


class XeroAuthError(XeroError):
    """Xero rejected our credentials or token (401/403, invalid_grant, invalid_client)."""


class XeroRateLimitError(XeroError):
    """Xero's daily limit is spent, or retries for the minute limit ran out.

    ``problem`` is Xero's ``X-Rate-Limit-Problem`` (``day``, ``minute``, ``concurrent``,
    ``appminute``) when known."""

    def __init__(self, message: str, problem: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem


class XeroLimitStop(XeroRateLimitError):
    """A read stopped at a Xero rate limit *after* committing what it had read, cursor and
    resume position included: the next run continues from there (exit code 75, sysexits'
    EX_TEMPFAIL: "try again later"; not a failure that lost anything)."""

    exit_code = EXIT_STOPPED


class RecordParseError(XeroError):
    """A record (invoice, contact, …) could not be parsed: names the record, the field and the
    fix. The extract quarantines it (:mod:`pipelines.quarantine`) instead of failing."""

    def __init__(
        self,
        message: str,
        *,
        record_id: str | None = None,
        field: str | None = None,
        detail: str | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(message)
        self.record_id = record_id
        self.field = field
        self.detail = detail or message
        self.fix = fix

    @property
    def invoice_id(self) -> str | None:
        return self.record_id


class QuarantinedRecordsError(InvoiceSyncError):
    """The run finished, but some source records are in quarantine (exit code 3, like HubSpot's
    rejections: the others went through; the record is retried when it changes in Xero)."""

    exit_code = EXIT_REJECTED


class HubSpotError(InvoiceSyncError):
    """HubSpot answered with something we cannot continue from."""


class HubSpotAuthError(HubSpotError):
    """HubSpot rejected the private-app token (401) or a scope is missing (403)."""


class HubSpotSchemaError(HubSpotError):
    """The custom object or one of its properties conflicts with what we need."""


class TransformError(InvoiceSyncError):
    """A dbt model or test failed."""


class LockBusyError(InvoiceSyncError):
    """Another sync holds the lock on this warehouse (exit code 4: nothing was done)."""

    exit_code = EXIT_BUSY


class WarehouseError(InvoiceSyncError):
    """The warehouse file cannot be used: corrupt, not a DuckDB file, read-only, disk full."""


class WarehouseBusyError(LockBusyError, WarehouseError):
    """Another process (a notebook, a SQL client, a stray run) has the working warehouse open
    (exit code 4, like the sync lock: nothing was done, try again later).

    Raised wherever the warehouse is opened (dlt, dbt, the push, the publish) from DuckDB's
    "Conflicting lock is held in <program> (PID n)" error; ``pid`` names the holder, so a
    scheduler can retry the tick and the message can point analysts at ``ANALYTICS_PATH``.
    """

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class RejectedRecordsError(InvoiceSyncError):
    """The run finished, but HubSpot rejected some records (exit code 3)."""

    exit_code = EXIT_REJECTED


class PublishError(InvoiceSyncError):
    """The analysts' database could not be written (disk full, permissions); the previous
    published copy is left as it was."""


class AnalystQueryError(InvoiceSyncError):
    """`invoice-sync sql`: no published database yet, or DuckDB refused the query."""


class UnexpectedError(InvoiceSyncError):
    """Something outside the project's own errors failed; the message names what and where."""
