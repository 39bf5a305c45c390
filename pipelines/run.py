"""Build and run the extract pipelines from :class:`~reverse_etl.core.settings.Settings`.

Two dlt pipelines write to the same warehouse (``settings.warehouse``: the DuckDB file at
``WAREHOUSE_PATH``, or the PostgreSQL database at ``WAREHOUSE_URL``): ``xero_invoices`` into the
dataset ``raw_xero`` and ``hubspot_snapshot`` into ``raw_hubspot``, in the warehouse's
``loader_file_format`` (:mod:`reverse_etl.core.warehouse`: ``jsonl`` on DuckDB).
dlt's working directory and pipeline state live under ``settings.state_dir / "dlt"``, so nothing
lands in the user's home. A failed run changes nothing in the warehouse: credentials are
checked and tenants listed before dlt starts, and an error raised while extracting (auth,
rate limit) discards that run's load package, cursor included. A record that cannot be parsed
does not fail the run: it is quarantined (:mod:`pipelines.quarantine`).

dlt settings of this process (set below unless the environment already sets them; dlt's
configuration reference, ``LoaderConfiguration`` and ``LoadStorageConfiguration`` in dlt 1.31):

- ``LOAD__AUTO_ABORT_ON_TERMINAL_ERROR=true``: a job that fails terminally (e.g. a value the
  destination refuses) aborts its package like ``Pipeline.abort_packages`` — pending packages
  are deleted and the local pipeline state (our cursors) is restored to where that package
  started (dlt API reference, ``dlt.pipeline.abort``). Without it the failed package stays
  pending and every later run retries it before reading anything new (issue 10: one bad amount
  wedged all syncs until files under ``warehouse/dlt`` were deleted by hand).
- ``LOAD__DELETE_COMPLETED_JOBS=true`` and ``LOAD__TRUNCATE_STAGING_DATASET=true``: a loaded
  package's data files are deleted and the ``*_staging`` copy of the merged rows is emptied
  after the load; what is left of each loaded package (its schema and state, a few KB) is
  removed by :func:`~pipelines.housekeeping.prune_loaded_packages`. Recovery needs only
  pending packages.
- Files are private: the dlt working directory is mode 0700 and the DuckDB file 0600 (they hold
  invoice data; :mod:`pipelines.housekeeping`); a server's files are the server's.

Each successful run appends a row to ``<dataset>.extract_runs`` (finished_at, rows loaded, dlt
load ids), even when nothing changed and dlt wrote no load package: dbt's source freshness
measures that table, so a quiet night is fresh and only a failing extract goes stale. dlt's
``<dataset>_staging`` schema (merge staging) is dropped after each load, out of analysts' way.
``progress`` (optional) receives a line per Xero page read, for the CLI's progress display.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime

# dlt settings of this process (not the tool's configuration contract): no telemetry, and no
# gzip of dlt's intermediate files, which are deleted after each load (zlib was ~15 % of the CPU
# of a backfill). An explicit value in the environment still wins.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DATA_WRITER__DISABLE_COMPRESSION", "true")
os.environ.setdefault("LOAD__AUTO_ABORT_ON_TERMINAL_ERROR", "true")
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")
# resources one after another, in order: the invoices first, then the finance endpoints
# (pipelines/xero/finance_source.py), so the invoices keep first claim on Xero's call budget
os.environ.setdefault("EXTRACT__NEXT_ITEM_MODE", "fifo")
# extracted files rotate every 5,000 rows, so a backfill's normalize workers share the big
# tables: dlt gives each worker the same number of files, in name order (NORMALIZE_WORKERS).
# The SOURCES section: dlt resolves the extract's writer settings in the source's sections.
os.environ.setdefault("SOURCES__DATA_WRITER__FILE_MAX_ITEMS", "5000")

import dlt

from pipelines.cursor import known_versions
from pipelines.dataset_session import DatasetSession, dataset_session
from pipelines.dlt_run import _ensure_tables, _pipeline, _run
from pipelines.extract_log import (
    ExtractProgress,
    ProgressStats,
    record_extract,
)
from pipelines.extract_report import ExtractReport, HubSpotSnapshotReport, XeroExtractReport
from pipelines.housekeeping import (
    secure_warehouse,
)
from pipelines.hubspot_snapshot import customers
from pipelines.hubspot_snapshot.client import HubSpotReader
from pipelines.hubspot_snapshot.known import _known
from pipelines.hubspot_snapshot.source import (
    RECORD_COLUMNS,
    HubSpotSnapshotStats,
    hubspot_snapshot_source,
)
from pipelines.quarantine import QUARANTINE_COLUMNS
from pipelines.xero.client import XeroClient
from pipelines.xero.finance_tables import FINANCE_TABLE_COLUMNS, FINANCE_TABLES
from pipelines.xero.records import (
    INVOICE_COLUMNS,
    LINE_ITEM_COLUMNS,
    VERSION_COLUMNS,
)
from pipelines.xero.source import XeroExtractStats, XeroReadPlan, xero_source
from reverse_etl.core.settings import Settings

log = logging.getLogger(__name__)

XERO_PIPELINE, XERO_DATASET = "xero_invoices", "raw_xero"
HUBSPOT_PIPELINE, HUBSPOT_DATASET = "hubspot_snapshot", "raw_hubspot"


def run_extract(
    settings: Settings,
    *,
    full_refresh: bool = False,
    since: date | None = None,
    strict: bool = False,
    continue_on_error: bool = False,
    progress: ExtractProgress | None = None,
) -> ExtractReport:
    """Xero invoices changed since the last run, then HubSpot's records, into the warehouse.

    The two loads are independent: if the HubSpot read fails, the Xero load already committed
    stays (it is correct on its own), and the error is raised. A bad invoice is quarantined
    (``strict``: fails the run instead); ``continue_on_error`` is accepted for compatibility
    and changes nothing, since quarantining is the default. A Xero read stopped at the day
    limit is not an error here (what it read is committed with its resume position): the
    report's ``stopped`` says so, and :meth:`ExtractReport.raise_for_limit_stops` turns it into
    exit code 75 once the caller has done what it can with the rows loaded.
    """
    del continue_on_error
    xero = run_xero_extract(
        settings,
        full_refresh=full_refresh,
        since=since,
        strict=strict,
        progress=progress,
    )
    if progress is not None:
        progress("HubSpot: reading the records of the custom object")
    hubspot = run_hubspot_snapshot(settings, full_refresh=full_refresh)
    return ExtractReport(xero=xero, hubspot=hubspot, object_name=settings.hubspot.object_name)


def run_xero_extract(
    settings: Settings,
    *,
    full_refresh: bool = False,
    since: date | None = None,
    invoice_ids: Sequence[str] | None = None,
    tenant_ids: Sequence[str] | None = None,
    strict: bool = False,
    continue_on_error: bool = False,
    client: XeroClient | None = None,
    progress: ExtractProgress | None = None,
) -> XeroExtractReport:
    """Load changed Xero invoices into ``raw_xero``.

    ``invoice_ids`` (the webhook mode) loads exactly those invoices with Xero's ``IDs`` filter
    and leaves the incremental cursor alone; ``tenant_ids`` narrows the organisations (default:
    ``XERO_TENANT_ID`` or every connected one). ``client`` lets tests inject clocks.
    Unparseable invoices are quarantined unless ``strict``; ``continue_on_error`` is kept for
    compatibility and ignored.
    """
    del continue_on_error
    if invoice_ids is not None and not invoice_ids:
        return XeroExtractReport()  # nothing named: no token, no call
    with dataset_session(settings.warehouse, XERO_DATASET) as session:
        return _xero_extract(
            settings,
            session,
            full_refresh=full_refresh,
            since=since,
            invoice_ids=invoice_ids,
            tenant_ids=tenant_ids,
            strict=strict,
            client=client,
            progress=progress,
        )


def _xero_extract(
    settings: Settings,
    session: DatasetSession,
    *,
    full_refresh: bool,
    since: date | None,
    invoice_ids: Sequence[str] | None,
    tenant_ids: Sequence[str] | None,
    strict: bool,
    client: XeroClient | None,
    progress: ExtractProgress | None,
) -> XeroExtractReport:
    started = time.monotonic()
    client = client or XeroClient(settings.xero)
    client.authenticate()
    tenants = list(tenant_ids) if tenant_ids else client.tenant_ids()
    stats = ProgressStats(progress) if progress is not None else XeroExtractStats()
    pipeline = _pipeline(settings, XERO_PIPELINE, XERO_DATASET)
    plan = XeroReadPlan(
        full_refresh=full_refresh or not session.table_exists("invoice_versions"),
        since=since,
        invoice_ids=list(invoice_ids) if invoice_ids is not None else None,
    )
    versions_since, quarantined_keys = _xero_known(session)
    full_tables = _missing_tables(session, invoice_ids)
    source = xero_source(
        client,
        tenants,
        plan,
        stats,
        versions_since,
        quarantined_keys,
        strict=strict,
        full_tables=full_tables,
    )
    try:
        step_seconds, load_ids = _run(pipeline, source, session)
    finally:
        secure_warehouse(settings.warehouse)
    _ensure_tables(
        session,
        {
            "invoices": INVOICE_COLUMNS,
            "invoices__line_items": LINE_ITEM_COLUMNS,
            "invoice_versions": VERSION_COLUMNS,
            **FINANCE_TABLE_COLUMNS,
            "quarantine": QUARANTINE_COLUMNS,
        },
    )
    record_extract(session, pipeline.pipeline_name, sum(stats.loaded.values()), load_ids)
    return _xero_report(client, tenants, stats, step_seconds, started, load_ids)


def _xero_known(
    session: DatasetSession,
) -> tuple[Callable[[str, datetime], set[tuple[str, str]]], Callable[[str, str], set[str]]]:
    """What ``raw_xero`` already holds, as the source asks it: the invoice versions loaded
    since a date, and the records set aside in quarantine."""

    def versions_since(tenant_id: str, start: datetime) -> set[tuple[str, str]]:
        return known_versions(
            session.query(
                "select invoice_id, updated_date_utc from invoice_versions "
                "where tenant_id = ? and updated_date_utc >= ?",
                tenant_id,
                start,
            )
        )

    def quarantined_keys(resource: str, tenant_id: str) -> set[str]:
        rows = session.query(
            "select record_key from quarantine where resource = ? and tenant_id = ?",
            resource,
            tenant_id,
        )
        return {str(row[0]) for row in rows}

    return versions_since, quarantined_keys


def _missing_tables(session: DatasetSession, invoice_ids: Sequence[str] | None) -> list[str]:
    """The finance tables never loaded, so read in full."""
    # named invoices (webhooks) read no finance table: skip the checks (a connection each)
    full_tables = [
        table
        for table in (*(t.table for t in FINANCE_TABLES), "organisations")
        if invoice_ids is None and not session.table_exists(table)
    ]
    return full_tables


def _xero_report(
    client: XeroClient,
    tenants: list[str],
    stats: XeroExtractStats,
    step_seconds: dict[str, float],
    started: float,
    load_ids: list[str],
) -> XeroExtractReport:
    counts = client.counts
    return XeroExtractReport(
        tenants=tenants,
        invoices_loaded=sum(stats.loaded.values()),
        rejected=sum(stats.rejected.values()),
        unchanged=sum(stats.unchanged.values()),
        xero_calls=counts.api,
        finance_calls=counts.finance,
        token_calls=counts.token,
        connections_calls=counts.connections,
        retries=counts.retries,
        per_tenant={t: stats.loaded.get(t, 0) for t in tenants},
        calls_per_tenant=dict(counts.api_by_tenant),
        rejected_per_tenant=dict(stats.rejected),
        finance_rows=dict(stats.finance),
        quarantined=list(stats.quarantined),
        duplicates=list(stats.duplicates),
        pages_per_tenant=dict(stats.pages),
        stopped=dict(stats.stops),
        step_seconds=step_seconds,
        seconds=time.monotonic() - started,
        load_ids=load_ids,
    )


def run_hubspot_snapshot(
    settings: Settings, *, full_refresh: bool = False, reader: HubSpotReader | None = None
) -> HubSpotSnapshotReport:
    """Load the custom object's records into ``raw_hubspot.invoice_records`` (see
    :mod:`pipelines.hubspot_snapshot.source` and :mod:`~pipelines.hubspot_snapshot.changes` for
    the read strategy), then companies and contacts. The report says whether anything changed:
    versions our own push wrote back are not loaded again, so they count for nothing."""
    started = time.monotonic()
    reader = reader or HubSpotReader(settings.hubspot)
    stats = HubSpotSnapshotStats()
    pipeline = _pipeline(settings, HUBSPOT_PIPELINE, HUBSPOT_DATASET)
    with dataset_session(settings.warehouse, HUBSPOT_DATASET) as session:
        full = full_refresh or not session.table_exists("invoice_records")
        source = hubspot_snapshot_source(
            reader, stats, _known(session, "invoice_records"), full_refresh=full
        )
        try:
            step_seconds, load_ids = _run(pipeline, source, session)
            invoice_calls = reader.calls
            loaded = _customer_snapshot(
                pipeline, session, reader, stats.object_type_id, full_refresh
            )
        finally:
            secure_warehouse(settings.warehouse)
        _ensure_tables(session, {"invoice_records": RECORD_COLUMNS, **customers.TABLE_COLUMNS})
        record_extract(session, pipeline.pipeline_name, stats.loaded, load_ids)
    return HubSpotSnapshotReport(
        customers_loaded=loaded,
        customer_calls=reader.calls - invoice_calls,
        records_loaded=stats.loaded,
        unchanged=stats.unchanged,
        archived=stats.archived,
        calls=invoice_calls,
        mode=stats.mode,
        object_type_id=stats.object_type_id,
        step_seconds=step_seconds,
        seconds=time.monotonic() - started,
        load_ids=load_ids,
    )


def _customer_snapshot(
    pipeline: dlt.Pipeline,
    session: DatasetSession,
    reader: HubSpotReader,
    object_type_id: str | None,
    full_refresh: bool,
) -> dict[str, int]:
    """Companies, contacts and (on a full refresh, or when never read) the invoice records'
    associations (:mod:`pipelines.hubspot_snapshot.customers`)."""
    loaded: dict[str, int] = {}

    resources = [
        customers.customer_resource(
            reader,
            table,
            _known(session, table),
            full_refresh or not session.table_exists(table),
            loaded,
        )
        for table in (customers.COMPANIES, customers.CONTACTS)
    ]
    if object_type_id and (full_refresh or not session.table_exists("invoice_associations")):
        ids = [
            str(r[0])
            for r in session.query(
                "select hs_object_id from invoice_records where not coalesce(archived, false)",
            )
        ]
        resources.append(customers.associations_resource(reader, object_type_id, ids, loaded))
    _run(pipeline, customers.customers_source(resources), session)
    return loaded
