"""What one extract did: the reports :func:`pipelines.run.run_extract` returns
(docs/contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reverse_etl.core.errors import XeroLimitStop


@dataclass
class XeroExtractReport:
    tenants: list[str] = field(default_factory=list)
    invoices_loaded: int = 0
    rejected: int = 0
    unchanged: int = 0
    xero_calls: int = 0  # Invoices API calls
    finance_calls: int = 0  # the other Xero endpoints' calls
    token_calls: int = 0
    connections_calls: int = 0
    retries: int = 0
    per_tenant: dict[str, int] = field(default_factory=dict)
    calls_per_tenant: dict[str, int] = field(default_factory=dict)
    rejected_per_tenant: dict[str, int] = field(default_factory=dict)
    finance_rows: dict[str, int] = field(default_factory=dict)  # per finance table (+ rejected)
    quarantined: list[str] = field(default_factory=list)  # one line per record set aside
    duplicates: list[str] = field(default_factory=list)
    pages_per_tenant: dict[str, int] = field(default_factory=dict)
    stopped: dict[str, str] = field(default_factory=dict)  # tenant → one-line reason + resume
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    load_ids: list[str] = field(default_factory=list)

    def raise_for_limit_stops(self) -> None:
        """:class:`XeroLimitStop` (exit 75) when a read stopped at a Xero limit: what it read
        is committed and the next run resumes, but the run is not complete."""
        if self.stopped:
            raise XeroLimitStop(" ".join(self.stopped.values()), problem="day")


@dataclass
class HubSpotSnapshotReport:
    records_loaded: int = 0  # new versions and newly archived records (echoes excluded)
    unchanged: int = 0
    archived: int = 0  # records found archived since the last read (in records_loaded)
    calls: int = 0
    mode: str = "none"
    object_type_id: str | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    customers_loaded: dict[str, int] = field(default_factory=dict)  # companies, contacts, …
    customer_calls: int = 0  # calls for companies, contacts and associations (not in calls)
    load_ids: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the snapshot loaded anything a person (or another tool) changed in HubSpot:
        the versions our own push wrote are recognised and not loaded, so a run that finds only
        those echoes is unchanged and the transform may skip."""
        return bool(self.records_loaded or any(self.customers_loaded.values()))


@dataclass
class ExtractReport:
    """What one ``invoice-sync extract`` did (docs/contracts.md)."""

    xero: XeroExtractReport
    hubspot: HubSpotSnapshotReport
    object_name: str = "xero_invoice"

    @property
    def xero_calls(self) -> int:
        """Invoices API calls (retries included); token and /connections calls are separate."""
        return self.xero.xero_calls

    @property
    def invoices_loaded(self) -> int:
        return self.xero.invoices_loaded

    @property
    def hubspot_records_loaded(self) -> int:
        return self.hubspot.records_loaded

    @property
    def per_tenant(self) -> dict[str, int]:
        return self.xero.per_tenant

    @property
    def rejected(self) -> int:
        return self.xero.rejected

    def raise_for_limit_stops(self) -> None:
        self.xero.raise_for_limit_stops()

    @property
    def load_ids(self) -> list[str]:
        return [*self.xero.load_ids, *self.hubspot.load_ids]

    def as_dict(self) -> dict[str, object]:
        """The extract's part of the ``--json`` run summary."""
        return {
            "organisations": len(self.xero.tenants),
            "invoices_loaded": self.xero.invoices_loaded,
            "invoices_per_organisation": dict(self.xero.per_tenant),
            "invoices_rejected": self.xero.rejected,
            "xero_calls": self.xero.xero_calls,
            "hubspot_records_loaded": self.hubspot.records_loaded,
            "hubspot_calls": self.hubspot.calls,
            "dlt_load_ids": self.load_ids,
            "stopped_at_xero_limit": dict(self.xero.stopped),
            "seconds": round(self.xero.seconds + self.hubspot.seconds, 3),
        }

    def summary(self) -> str:
        x, h = self.xero, self.hubspot
        orgs = len(x.tenants)
        text = (
            f"Extracted {x.invoices_loaded:,} changed invoice(s) from {orgs} Xero "
            f"organisation{'s' if orgs != 1 else ''} ({x.xero_calls} API call(s) + "
            f"{x.token_calls} token + {x.connections_calls} connections"
        )
        if x.finance_calls:
            text += f" + {x.finance_calls} for contacts/payments/credit/organisation"
        text += f", {x.retries} retried)" if x.retries else ")"
        if x.rejected:
            text += f", {x.rejected} quarantined (see raw_xero.quarantine)"
        if h.mode == "none":
            text += (
                f"; HubSpot has no '{self.object_name}' object yet "
                "(the push creates it, as does invoice-sync setup)"
            )
        else:
            text += f"; {h.records_loaded:,} HubSpot record(s) ({h.mode}, {h.calls} call(s))"
        if h.customer_calls:
            changed = ", ".join(f"{n:,} {t}" for t, n in sorted(h.customers_loaded.items()))
            text += f"; customers: {changed or 'nothing new'} ({h.customer_calls} call(s))"
        text += f" in {x.seconds + h.seconds:.1f}s."
        if x.stopped:
            text += f" Incomplete: {len(x.stopped)} organisation(s) stopped at a Xero limit."
        return "\n".join([text, *x.duplicates, *x.quarantined])
