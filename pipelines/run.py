"""Build and run the extract pipelines from :class:`~reverse_etl.core.settings.Settings`.

Two dlt pipelines write to the same DuckDB file (``settings.warehouse_path``): ``xero_invoices``
into the dataset ``raw_xero`` and ``hubspot_snapshot`` into ``raw_hubspot``, with
``loader_file_format="jsonl"`` (DESIGN.md: 3x faster and 8x smaller than insert_values here).
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
  invoice data; :mod:`pipelines.housekeeping`).

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

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
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.cursor import known_versions
from pipelines.dataset_session import DatasetSession, dataset_session
from pipelines.dlt_steps import destination_state_current, discard_empty_packages
from pipelines.extract_log import (
    ExtractProgress,
    ProgressStats,
    drop_staging_dataset,
    record_extract,
)
from pipelines.housekeeping import (
    finish_pending,
    first_line,
    make_private,
    prune_loaded_packages,
    secure_warehouse,
)
from pipelines.hubspot_snapshot import customers
from pipelines.hubspot_snapshot.changes import Known
from pipelines.hubspot_snapshot.client import HubSpotReader
from pipelines.hubspot_snapshot.source import (
    RECORD_COLUMNS,
    HubSpotSnapshotStats,
    hubspot_snapshot_source,
)
from pipelines.quarantine import QUARANTINE_COLUMNS
from pipelines.xero.client import XeroClient
from pipelines.xero.finance_source import FINANCE_TABLE_COLUMNS, FINANCE_TABLES
from pipelines.xero.records import (
    INVOICE_COLUMNS,
    LINE_ITEM_COLUMNS,
    VERSION_COLUMNS,
)
from pipelines.xero.source import XeroExtractStats, XeroReadPlan, xero_source
from reverse_etl.core.errors import InvoiceSyncError, XeroLimitStop
from reverse_etl.core.failures import causes
from reverse_etl.core.private_files import shared_folder
from reverse_etl.core.settings import Settings

log = logging.getLogger(__name__)

XERO_PIPELINE, XERO_DATASET = "xero_invoices", "raw_xero"
HUBSPOT_PIPELINE, HUBSPOT_DATASET = "hubspot_snapshot", "raw_hubspot"
LOADER_FILE_FORMAT = "jsonl"
DUCKDB_MEMORY_LIMIT = "512MB"  # see _duckdb_credentials
NORMALIZE_WORKERS = 2
PARALLEL_NORMALIZE_ROWS = 50_000
"""An extract of at least this many rows (a backfill) is normalized in
:data:`NORMALIZE_WORKERS` processes. dlt's normalize step is pure Python, about as long as the
extract itself, and runs while the network is idle, so a second process uses the second core
(dlt docs, "Performance" → "Normalize": ``workers``; dlt hands each worker a share of the
extracted files, so the extract rotates its files every ``SOURCES__DATA_WRITER__FILE_MAX_ITEMS``
rows, set above). Below it, starting the processes would cost more than it saves (an hourly
run, a test's small books)."""


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
    with dataset_session(settings.warehouse_path, XERO_DATASET) as session:
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

    def versions_since(tenant_id: str, start: datetime) -> set[tuple[str, str]]:
        return known_versions(
            session.query(
                "select invoice_id, updated_date_utc from invoice_versions "
                "where tenant_id = %s and updated_date_utc >= %s",
                tenant_id,
                start,
            )
        )

    def quarantined_keys(resource: str, tenant_id: str) -> set[str]:
        rows = session.query(
            "select record_key from quarantine where resource = %s and tenant_id = %s",
            resource,
            tenant_id,
        )
        return {str(row[0]) for row in rows}

    # named invoices (webhooks) read no finance table: skip the checks (a connection each)
    full_tables = [
        table
        for table in (*(t.table for t in FINANCE_TABLES), "organisations")
        if invoice_ids is None and not session.table_exists(table)
    ]
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
        secure_warehouse(settings.warehouse_path)
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
    with dataset_session(settings.warehouse_path, HUBSPOT_DATASET) as session:
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
            secure_warehouse(settings.warehouse_path)
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


def _known(session: DatasetSession, table: str) -> Known:
    """What ``raw_hubspot.<table>`` holds, as the snapshot asks it (one query per question)."""
    live = "not coalesce(archived, false)"

    def versions(start: datetime) -> set[tuple[str, str]]:
        sql = (
            f"select hs_object_id, hs_lastmodifieddate from {table} where hs_lastmodifieddate >= %s"
        )
        return known_versions(session.query(sql, start))

    def live_count() -> int:
        rows = session.query(f"select count(*) from {table} where {live}")
        return int(rows[0][0]) if rows else 0

    def written_after(cursor: datetime) -> list[datetime]:
        sql = f"select hs_lastmodifieddate from {table} where {live} and hs_lastmodifieddate > %s"
        return [row[0] for row in session.query(sql, cursor) if isinstance(row[0], datetime)]

    def live_among(ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        sql = (
            f"select hs_object_id from {table} where {live} and hs_object_id in (select unnest(%s))"
        )
        return {str(row[0]) for row in session.query(sql, wanted)}

    def archived() -> set[str]:
        return {
            str(row[0]) for row in session.query(f"select hs_object_id from {table} where archived")
        }

    return Known(versions, live_count, written_after, live_among, archived)


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


# -- dlt plumbing --------------------------------------------------------------------------


def _pipeline(settings: Settings, name: str, dataset: str) -> dlt.Pipeline:
    warehouse = Path(settings.warehouse_path)
    shared_folder(warehouse.parent)
    pipelines_dir = Path(settings.state_dir) / "dlt"
    pipelines_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    make_private(pipelines_dir)
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(pipelines_dir),
        destination=dlt.destinations.duckdb(_duckdb_credentials(warehouse)),
        dataset_name=dataset,
    )


def _duckdb_credentials(warehouse: Path) -> DuckDbCredentials:
    """The warehouse file, with DuckDB's memory capped at :data:`DUCKDB_MEMORY_LIMIT`.

    DuckDB's default limit is 80 % of the machine's memory, and its buffer pool grows towards
    it while dlt loads and merges a large package (``read_json`` into the staging tables, the
    de-duplicating ``ROW_NUMBER()``, the ``INSERT … SELECT``): measured at 100,000 invoices the
    load step's peak RSS was 700 MB against 270 MB for extract and normalize, and it grows
    with the backfill. With a limit DuckDB spills to its temporary directory instead (DuckDB
    docs, "Memory management" / ``memory_limit``). ``memory_limit`` is a global setting of the
    database instance: a connection another component holds open on the same file in this
    process (dbt-duckdb) shares it.
    ``global_config`` is applied on each new connection of dlt's pool (dlt 1.31,
    ``DuckDbCredentials``).
    """
    return DuckDbCredentials(str(warehouse), global_config={"memory_limit": DUCKDB_MEMORY_LIMIT})


def _run(
    pipeline: dlt.Pipeline, source: Any, session: DatasetSession
) -> tuple[dict[str, float], list[str]]:
    """Extract, normalize and load, like ``pipeline.run`` (which also first finishes a package
    a crashed run left behind); a project error raised inside dlt surfaces as itself. When
    extraction fails, the half-extracted package is dropped, so nothing of this run reaches the
    warehouse. Returns the steps' wall and CPU seconds, and the ids of the packages loaded.
    A large extract is normalized in :data:`NORMALIZE_WORKERS` processes. What a run with
    nothing new can leave out (the state restore, an empty package) is left out
    (:mod:`pipelines.dlt_steps`)."""
    timings: dict[str, float] = {}
    load_ids: list[str] = []
    try:
        if not destination_state_current(pipeline, session):
            pipeline.sync_destination()  # restores state from the warehouse if state_dir was wiped
        if pipeline.has_pending_data:
            finish_pending(pipeline)
        started, cpu = time.perf_counter(), time.process_time()
        extracted = pipeline.extract(source, loader_file_format=LOADER_FILE_FORMAT)
        timings["extract"] = time.perf_counter() - started
        timings["extract_cpu"] = time.process_time() - cpu
        if discard_empty_packages(pipeline, extracted.loads_ids):
            log.debug("%s: nothing extracted; normalize and load left out", pipeline.pipeline_name)
            return {name: round(value, 3) for name, value in timings.items()}, load_ids
        started, cpu = time.perf_counter(), time.process_time()
        pipeline.normalize(workers=_normalize_workers(extracted))
        timings["normalize"] = time.perf_counter() - started
        timings["normalize_cpu"] = time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        load_ids += list(pipeline.load().loads_ids)
        timings["load"] = time.perf_counter() - started
        timings["load_cpu"] = time.process_time() - cpu
    except PipelineStepFailed as exc:
        if exc.step == "extract":
            pipeline.abort_packages()
        cause = _project_error(exc)
        if cause is not None:
            raise cause from None
        if exc.step == "load" and not pipeline.has_pending_data:  # dlt aborted the package
            log.warning(
                "%s: a load job failed terminally; dlt discarded the package and restored the "
                "cursor, so the next run reads those records again. %s",
                pipeline.pipeline_name,
                exc.exception,
            )
            raise InvoiceSyncError(
                f"The {pipeline.pipeline_name} pipeline could not load this run's data: "
                f"{first_line(exc.exception)}. Nothing of it was committed and the cursor "
                "stayed where it was; the next run reads those records again."
            ) from exc
        raise InvoiceSyncError(
            f"The {pipeline.pipeline_name} pipeline failed at the {exc.step} step: "
            f"{first_line(exc.exception)}. Nothing of this run was committed unless the step "
            "was 'load'; run again (dlt resumes a pending load first)."
        ) from exc
    finally:
        make_private(Path(pipeline.pipelines_dir))
    prune_loaded_packages(pipeline)
    log.debug("%s: %s", pipeline.pipeline_name, timings)
    drop_staging_dataset(session)
    return {name: round(value, 3) for name, value in timings.items()}, load_ids


def _normalize_workers(extracted: Any) -> int:
    """:data:`NORMALIZE_WORKERS` for an extract of :data:`PARALLEL_NORMALIZE_ROWS` rows or more
    (dlt's ``ExtractInfo`` metrics: rows written per table), else 1."""
    rows = sum(
        table.items_count
        for step in (getattr(extracted, "metrics", None) or {}).values()
        for metrics in step
        for table in metrics["table_metrics"].values()
    )
    return NORMALIZE_WORKERS if rows >= PARALLEL_NORMALIZE_ROWS else 1


def _project_error(exc: BaseException) -> InvoiceSyncError | None:
    return next((link for link in causes(exc) if isinstance(link, InvoiceSyncError)), None)


_DUCKDB_TYPES: dict[str, Callable[[dict[str, Any]], str]] = {
    "text": lambda c: "VARCHAR",
    "decimal": lambda c: f"DECIMAL({c.get('precision', 38)},{c.get('scale', 9)})",
    "date": lambda c: "DATE",
    "bool": lambda c: "BOOLEAN",
    "timestamp": lambda c: "TIMESTAMP WITH TIME ZONE",
    "bigint": lambda c: "BIGINT",
}


def _ensure_tables(session: DatasetSession, tables: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Create contract tables dlt did not create because no row has reached them yet.

    dlt creates a table only when data arrives, but dbt's sources must always resolve
    (docs/contracts.md). The DDL matches what dlt writes (same names, DuckDB types and
    bookkeeping columns), so a later dlt load finds the table and only adds what is missing.
    """
    schema = session.dataset
    session.execute(f'create schema if not exists "{schema}"')
    for table, columns in tables.items():
        defs = [
            f'"{name}" {_DUCKDB_TYPES[hints["data_type"]](hints)}'
            + ("" if hints.get("nullable", True) else " NOT NULL")
            for name, hints in columns.items()
        ]
        if "__" in table:
            defs += [
                '"_dlt_root_id" VARCHAR NOT NULL',
                '"_dlt_parent_id" VARCHAR NOT NULL',
                '"_dlt_list_idx" BIGINT NOT NULL',
                '"_dlt_id" VARCHAR NOT NULL',
            ]
        else:
            defs += ['"_dlt_load_id" VARCHAR NOT NULL', '"_dlt_id" VARCHAR NOT NULL']
        session.execute(f'create table if not exists "{schema}"."{table}" ({", ".join(defs)})')
