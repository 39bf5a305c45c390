"""Configuration: the environment contract of DESIGN.md, read once, validated, passed down.

Nothing else in the project reads ``os.environ`` for these values: commands call
:func:`load_settings` and hand the resulting :class:`Settings` (or parts of it) to the code
that needs it, so tests point the tool at the sandbox through configuration, never by patching.

Sandbox mode: when neither Xero nor HubSpot credentials are set, every command runs against
the local emulators in ``sandbox/`` (fixed loopback ports, demo credentials) and says so.
Half-set configuration (one side's credentials but not the other's, a client id without a
secret) is an error naming the variable, because silently syncing one real system with a
sandbox would be worse than stopping.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reverse_etl.core.api_versions import DEFAULT_API_VERSION
from reverse_etl.core.errors import ConfigError
from reverse_etl.core.settings_values import (
    api_url,
    api_version,
    mask,
    mask_url,
    read_dotenv,
    redact_url,
    required,
    split_list,
    whole_number,
    yes_no,
)
from reverse_etl.core.warehouse import Warehouse, masked_url, warehouse_for

SANDBOX_XERO_PORT = 18710
SANDBOX_HUBSPOT_PORT = 18720
SANDBOX_XERO_CLIENT_ID = "sandbox-client-id"
SANDBOX_XERO_CLIENT_SECRET = "sandbox-client-secret"
SANDBOX_HUBSPOT_TOKEN = "pat-sandbox-token"
SANDBOX_WEBHOOK_KEY = "sandbox-webhook-key"

_OBJECT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,99}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SECRET_VARIABLES = frozenset(
    {
        "XERO_CLIENT_SECRET",
        "XERO_REFRESH_TOKEN",
        "HUBSPOT_ACCESS_TOKEN",
        "XERO_WEBHOOK_KEY",
        "WAREHOUSE_URL",
    }
)


@dataclass(frozen=True)
class XeroSettings:
    client_id: str
    client_secret: str
    refresh_token: str | None
    tenant_ids: tuple[str, ...]
    base_url: str
    identity_url: str
    webhook_key: str | None
    token_file: Path
    calls_per_minute: int
    page_size: int
    # how long the webhook worker waits after an event for more to batch with it
    webhook_debounce_ms: int = 250

    @property
    def grant_type(self) -> str:
        """``refresh_token`` for a standard app, ``client_credentials`` for a custom connection."""
        return "refresh_token" if self.refresh_token else "client_credentials"


@dataclass(frozen=True)
class HubSpotSettings:
    access_token: str
    base_url: str
    object_name: str
    requests_per_10s: int
    max_in_flight: int
    api_version: str = DEFAULT_API_VERSION
    create_companies: bool = False  # HUBSPOT_CREATE_COMPANIES: companies for unmatched customers


XERO_INVOICE_TYPES = ("ACCREC", "ACCPAY")


@dataclass(frozen=True)
class MirroringPolicy:
    """Which Xero invoices get a HubSpot record. Passed to every dbt build as the vars
    ``hubspot_invoice_types``, ``hubspot_include_drafts`` and
    ``hubspot_include_voided_and_deleted`` (``dbt_project.yml`` reads the same variables
    for a hand-run dbt). An invoice that already has a record is always kept current."""

    invoice_types: tuple[str, ...] = ("ACCREC",)
    include_drafts: bool = False
    include_voided: bool = False

    def dbt_vars(self) -> dict[str, object]:
        return {
            "hubspot_invoice_types": list(self.invoice_types),
            "hubspot_include_drafts": self.include_drafts,
            "hubspot_include_voided_and_deleted": self.include_voided,
        }


@dataclass(frozen=True)
class Settings:
    xero: XeroSettings
    hubspot: HubSpotSettings
    warehouse_path: Path
    analytics_path: Path
    alert_urls: tuple[str, ...]
    sandbox: bool
    state_dir: Path
    mirroring: MirroringPolicy = field(default_factory=MirroringPolicy)
    sources: Mapping[str, str] = field(default_factory=dict, repr=False)
    # WAREHOUSE_URL: PostgreSQL when set (issue 22); the DuckDB file at warehouse_path when not
    warehouse_url: str | None = field(default=None, repr=False)

    @property
    def warehouse(self) -> Warehouse:
        """The warehouse seam (:mod:`reverse_etl.core.warehouse`) for this configuration."""
        return warehouse_for(self.warehouse_url, self.warehouse_path)

    @property
    def mode_line(self) -> str:
        """The first line every command prints, so nobody mistakes the sandbox for production."""
        if self.sandbox:
            return (
                "Sandbox mode: no Xero or HubSpot credentials set; using the local emulators at "
                f"{redact_url(self.xero.base_url)} (Xero) and "
                f"{redact_url(self.hubspot.base_url)} (HubSpot)."
            )
        return (
            f"Live mode: Xero at {redact_url(self.xero.base_url)}, "
            f"HubSpot at {redact_url(self.hubspot.base_url)}."
        )

    def describe(self) -> list[tuple[str, str]]:
        """Every setting as (variable, shown value), secrets masked, for `invoice-sync config`."""
        rows = [
            ("mode", "sandbox" if self.sandbox else "live"),
            ("XERO_CLIENT_ID", self.xero.client_id),
            ("XERO_CLIENT_SECRET", mask(self.xero.client_secret)),
            ("XERO_REFRESH_TOKEN", mask(self.xero.refresh_token)),
            ("XERO_TENANT_ID", ",".join(self.xero.tenant_ids) or "(all connected)"),
            ("XERO_BASE_URL", redact_url(self.xero.base_url)),
            ("XERO_IDENTITY_URL", redact_url(self.xero.identity_url)),
            ("XERO_WEBHOOK_KEY", mask(self.xero.webhook_key)),
            ("XERO_WEBHOOK_DEBOUNCE_MS", str(self.xero.webhook_debounce_ms)),
            ("XERO_TOKEN_FILE", str(self.xero.token_file)),
            ("XERO_CALLS_PER_MINUTE", str(self.xero.calls_per_minute)),
            ("XERO_PAGE_SIZE", str(self.xero.page_size)),
            ("HUBSPOT_ACCESS_TOKEN", mask(self.hubspot.access_token)),
            ("HUBSPOT_BASE_URL", redact_url(self.hubspot.base_url)),
            ("HUBSPOT_OBJECT_NAME", self.hubspot.object_name),
            ("HUBSPOT_API_VERSION", self.hubspot.api_version),
            ("HUBSPOT_REQUESTS_PER_10S", str(self.hubspot.requests_per_10s)),
            ("HUBSPOT_MAX_IN_FLIGHT", str(self.hubspot.max_in_flight)),
            ("HUBSPOT_CREATE_COMPANIES", "true" if self.hubspot.create_companies else "false"),
            ("HUBSPOT_INVOICE_TYPES", ",".join(self.mirroring.invoice_types)),
            ("HUBSPOT_INCLUDE_DRAFTS", str(self.mirroring.include_drafts).lower()),
            ("HUBSPOT_INCLUDE_VOIDED", str(self.mirroring.include_voided).lower()),
            ("WAREHOUSE_URL", masked_url(self.warehouse_url) if self.warehouse_url else "(unset)"),
            ("WAREHOUSE_PATH", str(self.warehouse_path)),
            ("INVOICE_SYNC_STATE_DIR", str(self.state_dir)),
            ("ANALYTICS_PATH", str(self.analytics_path)),
            ("ALERT_URLS", " ".join(mask_url(u) for u in self.alert_urls) or "(log only)"),
        ]
        return rows


def load_settings(
    env: Mapping[str, str] | None = None, dotenv_path: Path | None = Path(".env")
) -> Settings:
    """Read and validate the configuration.

    ``env`` defaults to ``os.environ``; a ``.env`` file fills in variables the environment does
    not set (the environment wins, but a variable set to the empty string counts as unset, so
    ``HUBSPOT_ACCESS_TOKEN=`` in a shell never hides the file's value). A ``.env`` line that
    cannot be read — an unclosed quote — is an error naming the line, never skipped silently
    (python-dotenv skips it and may swallow the following lines into one value).
    Raises :class:`ConfigError` naming the variable or line at fault.
    """
    values: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.is_file():
        values.update(read_dotenv(dotenv_path))
    values.update(
        {k: v for k, v in (os.environ if env is None else env).items() if v and v.strip()}
    )
    values = {k: v.strip() for k, v in values.items() if v is not None and v.strip() != ""}
    return _build(values)


def _build(values: Mapping[str, str]) -> Settings:
    sandbox = _sandbox_mode(values)
    # `~` is expanded here, once: DuckDB and dlt would otherwise disagree about it.
    warehouse_path = Path(values.get("WAREHOUSE_PATH", "warehouse/invoices.duckdb")).expanduser()
    state_dir = Path(values.get("INVOICE_SYNC_STATE_DIR", str(warehouse_path.parent))).expanduser()
    analytics_path = Path(
        values.get("ANALYTICS_PATH", str(warehouse_path.parent / "analytics.duckdb"))
    ).expanduser()
    _refuse_shared_files(warehouse_path, analytics_path)
    warehouse_url = values.get("WAREHOUSE_URL")
    if warehouse_url:
        warehouse_for(warehouse_url, warehouse_path)  # a malformed URL is a ConfigError now
    credentials = _Credentials.sandbox(values) if sandbox else _Credentials.live(values)
    tenant_ids = _tenant_ids(values)
    object_name = _object_name(values)
    return Settings(
        xero=_xero(values, credentials, tenant_ids, state_dir),
        hubspot=_hubspot(values, credentials, object_name),
        warehouse_path=warehouse_path,
        analytics_path=analytics_path,
        alert_urls=split_list(values.get("ALERT_URLS", "")),
        sandbox=sandbox,
        state_dir=state_dir,
        mirroring=_mirroring(values),
        sources=dict(values),
        warehouse_url=warehouse_url,
    )


def _sandbox_mode(values: Mapping[str, str]) -> bool:
    """Sandbox mode when neither side's credentials are set; half-set is an error."""
    get = values.get
    xero_creds = any(get(k) for k in ("XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_REFRESH_TOKEN"))
    hubspot_creds = bool(get("HUBSPOT_ACCESS_TOKEN"))
    if xero_creds and not hubspot_creds:
        raise ConfigError(
            "HUBSPOT_ACCESS_TOKEN is not set, but Xero credentials are. Set it to your HubSpot "
            "private-app token, or unset the XERO_* credentials to run on the sandbox."
        )
    if hubspot_creds and not xero_creds:
        raise ConfigError(
            "XERO_CLIENT_ID and XERO_CLIENT_SECRET are not set, but HUBSPOT_ACCESS_TOKEN is. "
            "Set them (Xero app credentials), or unset HUBSPOT_ACCESS_TOKEN to run on the sandbox."
        )
    return not xero_creds and not hubspot_creds


@dataclass(frozen=True)
class _Credentials:
    """Who we are to each API and where it answers: the live ones, or the sandbox's."""

    client_id: str
    client_secret: str
    refresh_token: str | None
    xero_base: str
    identity: str
    hubspot_base: str
    access_token: str
    webhook_key: str | None

    @classmethod
    def sandbox(cls, values: Mapping[str, str]) -> _Credentials:
        """The emulators' demo credentials and loopback URLs (the URLs may be set)."""
        xero_base = values.get("XERO_BASE_URL", f"http://127.0.0.1:{SANDBOX_XERO_PORT}")
        return cls(
            client_id=SANDBOX_XERO_CLIENT_ID,
            client_secret=SANDBOX_XERO_CLIENT_SECRET,
            refresh_token=None,
            xero_base=xero_base,
            identity=values.get("XERO_IDENTITY_URL", xero_base),
            hubspot_base=values.get("HUBSPOT_BASE_URL", f"http://127.0.0.1:{SANDBOX_HUBSPOT_PORT}"),
            access_token=SANDBOX_HUBSPOT_TOKEN,
            webhook_key=values.get("XERO_WEBHOOK_KEY", SANDBOX_WEBHOOK_KEY),
        )

    @classmethod
    def live(cls, values: Mapping[str, str]) -> _Credentials:
        return cls(
            client_id=required(values, "XERO_CLIENT_ID", "your Xero app's client id"),
            client_secret=required(values, "XERO_CLIENT_SECRET", "your Xero app's client secret"),
            refresh_token=values.get("XERO_REFRESH_TOKEN"),
            xero_base=values.get("XERO_BASE_URL", "https://api.xero.com"),
            identity=values.get("XERO_IDENTITY_URL", "https://identity.xero.com"),
            hubspot_base=values.get("HUBSPOT_BASE_URL", "https://api.hubapi.com"),
            access_token=values["HUBSPOT_ACCESS_TOKEN"],
            webhook_key=values.get("XERO_WEBHOOK_KEY"),
        )


def _tenant_ids(values: Mapping[str, str]) -> tuple[str, ...]:
    tenant_ids = split_list(values.get("XERO_TENANT_ID", ""))
    for tenant in tenant_ids:
        if not _UUID.match(tenant):
            raise ConfigError(
                f"XERO_TENANT_ID contains {tenant!r}, which is not a Xero tenant id (a UUID). "
                "Leave it unset to sync every connected organisation."
            )
    return tenant_ids


def _object_name(values: Mapping[str, str]) -> str:
    object_name = values.get("HUBSPOT_OBJECT_NAME", "xero_invoice")
    if not _OBJECT_NAME.match(object_name):
        raise ConfigError(
            f"HUBSPOT_OBJECT_NAME={object_name!r} is not a valid HubSpot object name: use lower "
            "case letters, digits and underscores, starting with a letter (e.g. xero_invoice)."
        )
    if object_name == "invoice":
        raise ConfigError(
            "HUBSPOT_OBJECT_NAME=invoice clashes with HubSpot's native Invoices object; "
            "use another name such as xero_invoice."
        )
    return object_name


def _xero(
    values: Mapping[str, str], credentials: _Credentials, tenant_ids: tuple[str, ...], state: Path
) -> XeroSettings:
    return XeroSettings(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        refresh_token=credentials.refresh_token,
        tenant_ids=tenant_ids,
        base_url=api_url(values, "XERO_BASE_URL", credentials.xero_base),
        identity_url=api_url(values, "XERO_IDENTITY_URL", credentials.identity),
        webhook_key=credentials.webhook_key,
        token_file=Path(values.get("XERO_TOKEN_FILE", str(state / "xero_token.json"))).expanduser(),
        calls_per_minute=whole_number(values, "XERO_CALLS_PER_MINUTE", 60, 1, 10_000),
        page_size=whole_number(values, "XERO_PAGE_SIZE", 1000, 1, 1000),
        webhook_debounce_ms=whole_number(values, "XERO_WEBHOOK_DEBOUNCE_MS", 250, 0, 60_000),
    )


def _hubspot(
    values: Mapping[str, str], credentials: _Credentials, object_name: str
) -> HubSpotSettings:
    return HubSpotSettings(
        access_token=credentials.access_token,
        base_url=api_url(values, "HUBSPOT_BASE_URL", credentials.hubspot_base),
        object_name=object_name,
        requests_per_10s=whole_number(values, "HUBSPOT_REQUESTS_PER_10S", 100, 1, 10_000),
        max_in_flight=whole_number(values, "HUBSPOT_MAX_IN_FLIGHT", 8, 1, 64),
        api_version=api_version(values.get("HUBSPOT_API_VERSION", DEFAULT_API_VERSION)),
        create_companies=yes_no(values, "HUBSPOT_CREATE_COMPANIES", False),
    )


def _refuse_shared_files(warehouse_path: Path, analytics_path: Path) -> None:
    """The publish renames a new file onto ``ANALYTICS_PATH`` (and removes its ``.wal``): that
    path must be none of the warehouse's own files (the database, DuckDB's ``<file>.wal``, the
    sync's ``<file>.lock``), nor the other way round, or the copy destroys the working data."""
    warehouse, analytics = warehouse_path.resolve(), analytics_path.resolve()
    if analytics == warehouse:
        raise ConfigError(
            f"ANALYTICS_PATH and WAREHOUSE_PATH are the same file ({warehouse_path}): the "
            "analysts' copy must be a separate file, e.g. warehouse/analytics.duckdb."
        )
    for companion in (".wal", ".lock"):
        if analytics == warehouse.with_name(warehouse.name + companion) or (
            warehouse == analytics.with_name(analytics.name + companion)
        ):
            raise ConfigError(
                f"ANALYTICS_PATH={analytics_path} and WAREHOUSE_PATH={warehouse_path} "
                f"overlap (one is the other's {companion} file, which the publish would "
                "overwrite): set ANALYTICS_PATH to a separate database file, e.g. "
                f"{warehouse.parent / 'analytics.duckdb'}."
            )


def _mirroring(values: Mapping[str, str]) -> MirroringPolicy:
    types = tuple(t.upper() for t in split_list(values.get("HUBSPOT_INVOICE_TYPES", "ACCREC")))
    unknown = [t for t in types if t not in XERO_INVOICE_TYPES]
    if unknown or not types:
        raise ConfigError(
            f"HUBSPOT_INVOICE_TYPES={values.get('HUBSPOT_INVOICE_TYPES')!r} must list Xero "
            "invoice types, comma-separated: ACCREC (sales invoices), ACCPAY (bills)."
        )
    return MirroringPolicy(
        invoice_types=tuple(dict.fromkeys(types)),
        include_drafts=yes_no(values, "HUBSPOT_INCLUDE_DRAFTS", False),
        include_voided=yes_no(values, "HUBSPOT_INCLUDE_VOIDED", False),
    )
