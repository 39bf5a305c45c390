"""The dlt source for Xero: invoices — ``raw_xero.invoices`` (+ ``__line_items``),
``raw_xero.invoice_versions`` and ``raw_xero.quarantine`` — and the finance tables of
:mod:`pipelines.xero.finance_source`.

One resource reads each tenant's changed invoices once and writes three tables: the current
version (merge on ``invoice_id``; line items as dlt's nested table, replaced with their parent),
every observed version (merge on ``invoice_id`` + ``updated_date_utc``: re-reading an overlapping
window never duplicates), and the invoices that could not be parsed (:mod:`pipelines.quarantine`:
set aside and named, released when Xero sends them again and they parse). ``strict`` turns a
bad invoice back into a failed run instead.

Xero has been seen to send the same ``InvoiceID`` twice in one answer (issue 10); dlt's merge
would then pick one copy arbitrarily for the line items. The resource keeps the newest copy by
``UpdatedDateUTC`` (the later one in the answer when the stamps are equal) and logs a warning
naming the invoice.

The cursor is kept per tenant in the resource's dlt state (``{"cursors": {tenant: iso}}``)
rather than in one ``dlt.sources.incremental``: one resource serves several tenants, a tenant
added later must start from the beginning, and the overlap/ceiling rules of
:mod:`pipelines.cursor` differ from dlt's. dlt commits resource state in the same load package
as the rows (dlt docs, "State": state is stored in ``_dlt_pipeline_state`` and committed with the
load), and drops it when extraction fails, so the cursor never moves past unloaded data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

import dlt
from dlt.extract.resource import DltResource

from pipelines.cursor import (
    ReadPosition,
    VersionTracker,
    parse_cursor,
    stamp_key,
    window_start,
)
from pipelines.dlt_import import FileImport, with_imports
from pipelines.dlt_tables import TableRouter
from pipelines.dlt_values import datetime_for_dlt
from pipelines.quarantine import Quarantine, quarantine_hints
from pipelines.xero.client import XeroClient
from pipelines.xero.finance_source import finance_resources
from pipelines.xero.records import (
    INVOICE_COLUMNS,
    LINE_ITEM_COLUMNS,
    VERSION_COLUMNS,
    parse_invoice,
    version_row,
)
from reverse_etl.core.errors import XeroRateLimitError

log = logging.getLogger(__name__)

XERO_OVERLAP = timedelta(seconds=1)
"""Extra overlap before the (second-truncated) cursor. Small on purpose: the cursor is already
capped at Xero's clock when the read began, and a no-change run re-reads this window (it must
fit in one page to cost one call)."""

KnownVersions = Callable[[str, datetime], set[tuple[str, str]]]
QuarantinedKeys = Callable[[str, str], set[str]]  # (resource, tenant) -> keys in quarantine


@dataclass
class XeroExtractStats:
    """What the resource did, per tenant (filled while dlt extracts)."""

    loaded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    windows: dict[str, str | None] = field(default_factory=dict)
    finance: dict[str, int] = field(default_factory=dict)  # rows read per finance table
    quarantined: list[str] = field(default_factory=list)  # one line per record set aside
    duplicates: list[str] = field(default_factory=list)
    pages: dict[str, int] = field(default_factory=dict)
    stops: dict[str, str] = field(default_factory=dict)  # tenant → why and where it resumes

    def add(self, bucket: dict[str, int], tenant_id: str, n: int) -> None:
        bucket[tenant_id] = bucket.get(tenant_id, 0) + n


@dataclass(frozen=True)
class XeroReadPlan:
    """How this run reads: everything, a forced window start, specific ids, or incrementally."""

    full_refresh: bool = False
    since: date | None = None
    invoice_ids: Sequence[str] | None = None

    def window(self, cursor: datetime | None) -> datetime | None:
        if self.full_refresh or self.invoice_ids is not None:
            return None
        if self.since is not None:
            return datetime.combine(self.since, time(0), tzinfo=UTC)
        return window_start(cursor, XERO_OVERLAP)

    def moves_cursor(self, cursor: datetime | None) -> bool:
        """Whether this read covered everything changed since ``cursor``. Reading named
        invoices says nothing about the others; a ``since`` later than the cursor skipped the
        changes in between: either way the cursor stays where it was."""
        if self.invoice_ids is not None:
            return False
        if self.since is None or self.full_refresh or cursor is None:
            return True
        forced = datetime.combine(self.since, time(0), tzinfo=UTC)
        return forced <= cursor

    @property
    def resumes(self) -> bool:
        """Whether a read stopped at a limit continues where it stopped: only a plain
        incremental run; a full refresh or ``since`` asks for another read."""
        return not self.full_refresh and self.since is None and self.invoice_ids is None


def invoices_resource(
    client: XeroClient,
    tenant_ids: Sequence[str],
    plan: XeroReadPlan,
    stats: XeroExtractStats,
    known_versions: KnownVersions,
    quarantined_keys: QuarantinedKeys = lambda resource, tenant: set(),
    strict: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DltResource:
    hints = _invoice_hints()

    @dlt.resource(name="xero_invoices")
    def invoices() -> Iterator[Any]:
        yield from with_imports(_read_tenants)

    def _read_tenants(imports: FileImport) -> Iterator[Any]:
        router, state = TableRouter(), dlt.current.resource_state()
        cursors: dict[str, str] = state.setdefault("cursors", {})
        positions: dict[str, Any] = state.setdefault("resume", {})
        for tenant_id in tenant_ids:
            old = parse_cursor(cursors.get(tenant_id))
            resume = ReadPosition.from_state(positions.get(tenant_id)) if plan.resumes else None
            start = resume.window if resume else plan.window(old)
            stats.windows[tenant_id] = stamp_key(start) if start else None
            tracker = VersionTracker(recent_pages=2)
            if resume:
                tracker.ceiling, tracker.max_seen = resume.ceiling, resume.max_seen
            if start is not None:
                tracker.known = known_versions(tenant_id, start)
            gate = _invoice_gate(tenant_id, quarantined_keys, now)
            pages = client.invoice_pages(
                tenant_id,
                modified_since=start,
                invoice_ids=plan.invoice_ids,
                start_page=resume.next_page if resume else 1,
                ordered=resume.ordered if resume else True,
            )
            done, order = 0, client.invoice_order
            try:
                for page in _pages_until_limit(pages, plan):
                    done, order = page.page, page.order
                    stats.add(stats.pages, tenant_id, 1)
                    yield from _page_rows(
                        page, tenant_id, tracker, stats, gate, (router, imports), strict, hints
                    )
                    tracker.end_page()
            except _LimitReached as stop:
                position = _stop_position(start, done, resume, tracker, order, stats, tenant_id)
                positions[tenant_id] = position.to_state()
                stats.stops[tenant_id] = _stop_message(tenant_id, stop.error, position, stats)
                continue
            if plan.invoice_ids is None and plan.since is None:
                positions.pop(tenant_id, None)  # this read covered what the stopped one had left
            if plan.moves_cursor(old):
                new = tracker.next_cursor(old)
                if new is not None:
                    cursors[tenant_id] = new.isoformat()

    return invoices


class _InvoiceHints(NamedTuple):
    """dlt hints of the invoice tables and the quarantine."""

    invoices: Any
    versions: Any
    set_aside: Any


def _invoice_hints() -> _InvoiceHints:
    # Each kind of row goes to its table through its own hints variant; the resource itself
    # carries none, since dlt starts every variant from the resource's hints.
    invoices_hints = dlt.mark.make_hints(
        table_name="invoices",
        write_disposition="merge",
        primary_key="invoice_id",
        columns=_named(INVOICE_COLUMNS),
        nested_hints={"line_items": {"columns": _named(LINE_ITEM_COLUMNS)}},
    )
    versions_hints = dlt.mark.make_hints(
        table_name="invoice_versions",
        write_disposition="merge",
        primary_key=["invoice_id", "updated_date_utc"],
        columns=_named(VERSION_COLUMNS),
    )
    set_aside_hints = quarantine_hints()
    return _InvoiceHints(invoices_hints, versions_hints, set_aside_hints)


def _invoice_gate(
    tenant_id: str, quarantined_keys: QuarantinedKeys, now: Callable[[], datetime]
) -> Quarantine:
    """The quarantine of ``tenant_id``'s invoices, holding the keys already set aside."""
    return Quarantine(
        "invoices",
        tenant_id,
        quarantined_keys("invoices", tenant_id),
        now,
        id_field="InvoiceID",
        name_field="InvoiceNumber",
        updated_field="UpdatedDateUTC",
    )


def _stop_position(
    start: datetime | None,
    done: int,
    resume: ReadPosition | None,
    tracker: VersionTracker,
    order: str | None,
    stats: XeroExtractStats,
    tenant_id: str,
) -> ReadPosition:
    """Where the next run resumes a read stopped at a limit after page ``done``."""
    position = ReadPosition(
        window=start,
        next_page=done + 1 if done else (resume.next_page if resume else 1),
        ceiling=tracker.ceiling,
        max_seen=tracker.max_seen,
        ordered=order is not None,
        pages_read=(resume.pages_read if resume else 0) + stats.pages.get(tenant_id, 0),
    )
    return position


def _page_rows(
    page: Any,
    tenant_id: str,
    tracker: VersionTracker,
    stats: XeroExtractStats,
    gate: Quarantine,
    routes: tuple[TableRouter, FileImport],
    strict: bool,
    hints: _InvoiceHints,
) -> Iterator[Any]:
    """The rows of one page: the invoices (with their line items, dlt's nested table) and
    their versions as files dlt imports without normalizing them (:mod:`pipelines.dlt_import`)
    unless the page holds a typed-JSON tag or the destination loads no jsonl; otherwise, and
    for the quarantine, as dlt items."""
    router, imports = routes
    tracker.observe_ceiling(page.server_time)
    parsed: dict[str, dict[str, Any]] = {}
    for payload in page.invoices:
        row = _parse(gate, payload, tenant_id, strict)
        if row is not None:
            _keep_newest(parsed, row, stats)
    rows = [
        row for row in parsed.values() if tracker.is_new(row["invoice_id"], row["updated_date_utc"])
    ]
    for row in rows:  # compared above; from here on only dlt reads it
        row["updated_date_utc"] = datetime_for_dlt(row["updated_date_utc"])
    stats.add(stats.loaded, tenant_id, len(rows))
    stats.add(stats.unchanged, tenant_id, len(parsed) - len(rows))
    if gate.quarantined:
        stats.add(stats.rejected, tenant_id, gate.quarantined)
        stats.quarantined.extend(gate.named)
        gate.quarantined, gate.named = 0, []
    if gate.rows:
        yield router.rows(gate.drain(), hints.set_aside)
    if rows:
        versions = [version_row(r) for r in rows]
        if imports.enabled and not page.tagged:
            yield from imports.rows(rows, hints.invoices, nested="line_items")
            yield from imports.rows(versions, hints.versions)
        else:
            yield router.rows(rows, hints.invoices)
            yield router.rows(versions, hints.versions)


def _parse(gate: Quarantine, payload: Any, tenant_id: str, strict: bool) -> dict[str, Any] | None:
    if strict:
        row = parse_invoice(payload, tenant_id, for_dlt=True)  # RecordParseError: the run fails
        gate.release(row["invoice_id"], row.get("invoice_number"))
        return row
    return gate.parse(payload, lambda p: parse_invoice(p, tenant_id, for_dlt=True))


def _keep_newest(
    parsed: dict[str, dict[str, Any]], row: dict[str, Any], stats: XeroExtractStats
) -> None:
    """Add ``row`` to one page's rows, keeping the newest copy of a repeated invoice."""
    invoice_id = row["invoice_id"]
    other = parsed.get(invoice_id)
    if other is not None:
        newer, older = (
            (row, other) if row["updated_date_utc"] >= other["updated_date_utc"] else (other, row)
        )
        number = row.get("invoice_number")
        who = f"invoice {number} (id {invoice_id})" if number else f"invoice {invoice_id}"
        stamps = [r["updated_date_utc"].isoformat() for r in (older, newer)]
        message = (
            f"Xero sent {who} twice in one page (UpdatedDateUTC {stamps[0]} and {stamps[1]}); "
            "kept the newer copy."
        )
        log.warning(message)
        stats.duplicates.append(message)
        row = newer
        del parsed[invoice_id]  # keep answer order: the kept copy goes where it was last seen
    parsed[invoice_id] = row


class _LimitReached(Exception):
    def __init__(self, error: XeroRateLimitError) -> None:
        super().__init__(str(error))
        self.error = error


def _pages_until_limit(pages: Iterator[Any], plan: XeroReadPlan) -> Iterator[Any]:
    """``pages``, turning a rate limit that ends the read into :class:`_LimitReached` — raised
    between pages, never inside one. Reads of named invoices (webhooks) have no position to
    resume from: their limit error propagates and fails the run as before."""
    try:
        yield from pages
    except XeroRateLimitError as exc:
        if plan.invoice_ids is not None:
            raise
        raise _LimitReached(exc) from exc


def _stop_message(
    tenant_id: str, error: XeroRateLimitError, position: ReadPosition, stats: XeroExtractStats
) -> str:
    limit = "day limit" if error.problem == "day" else f"{error.problem or 'rate'} limit"
    pages = stats.pages.get(tenant_id, 0)
    return (
        f"Xero {limit} reached for organisation {tenant_id} after {pages} page(s) this run; "
        f"what was read is saved, and the next run resumes from {position.describe()}."
    )


def _named(columns: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Column hints with their ``name`` (``make_hints`` does not fill it in, the decorator does)."""
    return {name: {"name": name, **hints} for name, hints in columns.items()}


@dlt.source(name="xero", max_table_nesting=1)
def xero_source(
    client: XeroClient,
    tenant_ids: Sequence[str],
    plan: XeroReadPlan,
    stats: XeroExtractStats,
    known_versions: KnownVersions,
    quarantined_keys: QuarantinedKeys = lambda resource, tenant: set(),
    strict: bool = False,
    full_tables: Sequence[str] = (),
) -> Any:
    """Xero invoices of ``tenant_ids``, read as ``plan`` says, and the finance records
    (:mod:`pipelines.xero.finance_source`) unless the plan names invoices (webhook mode).
    Arguments, not config injection: the settings module already read the environment
    (STYLE.md). ``full_tables``: finance tables missing from the warehouse (read in full)."""
    invoices = invoices_resource(
        client, tenant_ids, plan, stats, known_versions, quarantined_keys, strict=strict
    )
    if plan.invoice_ids is not None:
        return invoices
    finance = finance_resources(
        client,
        tenant_ids,
        plan,
        set(full_tables),
        stats.finance,
        lambda: datetime.now(UTC),
        stats.stops,
    )
    return [invoices, *finance]
