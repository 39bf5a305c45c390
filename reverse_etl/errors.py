"""One exception hierarchy for the whole tool.

Errors are raised where the cause is known, carry a message a user can act on (what failed,
which record or variable, and the fix), and are printed once at the CLI edge without a
traceback unless ``--verbose`` is given.
"""

from __future__ import annotations


class InvoiceSyncError(Exception):
    """Base class: every error the CLI prints as one line and exits non-zero for."""

    exit_code: int = 1


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

    exit_code = 75


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
    """The run finished, but some source records are in quarantine (exit code 2)."""

    exit_code = 2


class HubSpotError(InvoiceSyncError):
    """HubSpot answered with something we cannot continue from."""


class HubSpotAuthError(HubSpotError):
    """HubSpot rejected the private-app token (401) or a scope is missing (403)."""


class HubSpotSchemaError(HubSpotError):
    """The custom object or one of its properties conflicts with what we need."""


class TransformError(InvoiceSyncError):
    """A dbt model or test failed."""


class LockBusyError(InvoiceSyncError):
    """Another sync holds the lock on this warehouse."""


class RejectedRecordsError(InvoiceSyncError):
    """The run finished, but HubSpot rejected some records (exit code 2)."""

    exit_code = 2
