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
    """Xero's daily limit is spent, or retries for the minute limit ran out."""


class RecordParseError(XeroError):
    """An invoice payload could not be parsed; names the invoice id and the field."""


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


class WarehouseError(InvoiceSyncError):
    """The warehouse file cannot be used: corrupt, not a DuckDB file, read-only, disk full."""


class WarehouseBusyError(WarehouseError):
    """The working warehouse is held by another process (DuckDB allows one writer at a time)."""


class UnexpectedError(InvoiceSyncError):
    """Something outside the project's own errors failed; the message names what and where."""
