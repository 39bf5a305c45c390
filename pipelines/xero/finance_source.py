"""dlt resources for Xero's finance records beside invoices (docs/contracts.md, "Finance
tables"): ``raw_xero.contacts`` (+ ``contact_persons``), ``payments``, ``credit_notes``,
``overpayments``, ``prepayments``, their ``allocations`` and every version read of them
(``credit_versions``: :mod:`pipelines.xero.credit_versions`), ``organisations``, and the records
that could not be parsed, ``finance_rejects``.

Each list resource reads its endpoint through :meth:`XeroClient.pages` (same paging, limits,
retries and ``order``-by-immutable-id rule as the invoices) incrementally by
``If-Modified-Since``, with the invoices' cursor and overlap rules (:mod:`pipelines.cursor`,
``XERO_OVERLAP``): a cursor per tenant in the resource's own dlt state, capped at Xero's clock
when the read began, moved only when the plan read everything changed since it. Rows are merged
on their id, so re-reading the overlap never duplicates. A record that does not parse, or
breaks the push path's contract (:mod:`pipelines.xero.contract`), is quarantined in
``raw_xero.quarantine`` like a bad invoice (:mod:`pipelines.quarantine`; its keys kept in the
resource's dlt state) and the others load; once corrected in Xero its ``UpdatedDateUTC`` moves,
the next run reads it again and releases it. (``finance_rejects`` is kept, empty, for
warehouses that still hold rows written there before.) An unchanged hour costs one call per
endpoint and organisation.

The invoices are read first (dlt extracts resources one after another, ``next_item_mode``
"fifo", set in :mod:`pipelines.run`), so they keep first claim on the day's call budget; once a
rate limit ended a tenant's reads (``stats.stops``) the finance resources skip that tenant, and
a limit met while reading a finance endpoint ends that endpoint's read (rows kept, cursor
unmoved, the same window read again next run; logged, counted as ``finance_rows["limit_stops"]``,
not a stop of the invoices' kind).

Scopes (Xero "OAuth 2.0 scopes" page, and Xero's granular scopes for apps created from
2 March 2026): Contacts ``accounting.contacts.read``; Payments, Overpayments and Prepayments
``accounting.payments.read`` (broad: ``accounting.transactions.read``); CreditNotes
``accounting.invoices.read`` (broad: ``accounting.transactions.read``); Organisation
``accounting.settings.read``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import dlt
from dlt.extract.resource import DltResource

from pipelines.cursor import VersionTracker, parse_cursor, stamp_key
from pipelines.dlt_import import FileImport, with_imports
from pipelines.dlt_tables import TableRouter
from pipelines.dlt_values import datetime_for_dlt
from pipelines.quarantine import Quarantine, quarantine_hints
from pipelines.xero import finance_records as fr
from pipelines.xero.client import XeroClient
from pipelines.xero.credit_versions import (
    CREDIT_VERSION_KEY,
    credit_version_row,
)
from pipelines.xero.finance_tables import FINANCE_TABLE_COLUMNS, FINANCE_TABLES, FinanceTable
from reverse_etl.core.errors import XeroRateLimitError

log = logging.getLogger(__name__)


def _named(columns: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, **hints} for name, hints in columns.items()}


def _hints(table: str, newest: str | None = None, **kwargs: Any) -> Any:
    """Hints of ``table``; ``newest``: the stamp column whose newest row a merge keeps when one
    load holds the same key twice (dlt's ``dedup_sort``: dlt docs, "Merge loading")."""
    columns = _named(FINANCE_TABLE_COLUMNS[table])
    if newest is not None:
        columns[newest] = {**columns[newest], "dedup_sort": "desc"}
    return dlt.mark.make_hints(table_name=table, columns=columns, **kwargs)


def finance_resources(
    client: XeroClient,
    tenant_ids: Sequence[str],
    plan: Any,
    full_tables: set[str],
    stats: dict[str, int],
    now: Callable[[], datetime],
    stops: dict[str, str],
) -> list[DltResource]:
    """One resource per list endpoint, plus Organisation. ``full_tables``: tables missing
    from the warehouse, read from the beginning whatever their cursor says; ``stops``: tenant
    → why a read ended at a rate limit (shared with the invoices' stops)."""
    out = [
        _list_resource(t, client, tenant_ids, plan, full_tables, stats, now, stops)
        for t in FINANCE_TABLES
    ]
    reload = "organisations" in full_tables
    out.append(_organisations_resource(client, tenant_ids, stats, now, stops, reload=reload))
    return out


def _list_resource(
    table: FinanceTable,
    client: XeroClient,
    tenant_ids: Sequence[str],
    plan: Any,
    full_tables: set[str],
    stats: dict[str, int],
    now: Callable[[], datetime],
    stops: dict[str, str],
) -> DltResource:
    hints = _table_hints(table)

    def read() -> Iterator[Any]:
        yield from with_imports(read_tenants)

    def read_tenants(imports: FileImport) -> Iterator[Any]:
        router = TableRouter()
        state = dlt.current.resource_state()
        cursors: dict[str, str] = state.setdefault("cursors", {})
        # the versions read at the cursor's edge, which the next overlapping read returns again
        edges: dict[str, list[list[str]]] = state.setdefault("edges", {})
        for tenant_id in tenant_ids:
            if tenant_id in stops:  # a limit already ended this run's reads of the tenant
                continue
            old = parse_cursor(cursors.get(tenant_id))
            start = None if table.table in full_tables else plan.window(old)
            known = {(k[0], k[1]) for k in edges.get(tenant_id, [])} if start is not None else set()
            tracker, edge = VersionTracker(), _Edge(known)
            gate = Quarantine.in_state(
                state, table.table, tenant_id, now, id_field=table.id_field,
                name_field=table.name_field, updated_field="UpdatedDateUTC",
            )  # fmt: skip
            try:
                yield from _read_pages(
                    table, client, stats, hints, tenant_id, start, tracker, edge,
                    (router, imports), gate,
                )  # fmt: skip
            except XeroRateLimitError as exc:
                # a limit ends this endpoint's read for now: what was read is kept (merged),
                # the cursor stays, the next run reads the same window again
                stats["limit_stops"] = stats.get("limit_stops", 0) + 1
                log.warning(
                    "Xero rate limit reached for organisation %s while reading %s (%s); "
                    "the next run reads it again.",
                    tenant_id,
                    table.endpoint.path,
                    exc,
                )
                continue
            if plan.moves_cursor(old):
                new = tracker.next_cursor(old)
                if new is not None:
                    cursors[tenant_id] = new.isoformat()
                    edges[tenant_id] = edge.versions(plan.window(new))

    read.__doc__ = (
        f"``GET /{table.endpoint.path}`` → ``raw_xero.{table.table}``; scope {table.scope}."
    )
    return dlt.resource(read, name=table.name)


class _Hints(NamedTuple):
    """dlt hints of a finance table and of the tables its records feed."""

    main: Any
    persons: Any
    allocations: Any
    versions: Any
    set_aside: Any


def _table_hints(table: FinanceTable) -> _Hints:
    """The hints of ``table`` and of the child tables its records feed."""
    main = _hints(table.table, "updated_date_utc", write_disposition="merge", primary_key=table.key)
    # All of a contact's persons are replaced when it is read again (merge_key without a
    # primary key: dlt deletes the contact's rows, then inserts the new ones).
    persons = _hints("contact_persons", write_disposition="merge", merge_key="contact_id")
    # an allocation's row is stamped by the newest version of its source that listed it: a
    # source no longer listing it leaves it older than the source (int_credit_allocations)
    allocations = _hints(
        "allocations",
        "source_updated_date_utc",
        write_disposition="merge",
        primary_key="allocation_key",
    )
    # every version of a credit read, so a removed allocation is dated (credit_versions.py)
    versions = _hints("credit_versions", write_disposition="merge", primary_key=CREDIT_VERSION_KEY)
    set_aside = quarantine_hints()
    return _Hints(main, persons, allocations, versions, set_aside)


def _read_pages(
    table: FinanceTable,
    client: XeroClient,
    stats: dict[str, int],
    hints: _Hints,
    tenant_id: str,
    start: Any,
    tracker: VersionTracker,
    edge: _Edge,
    routes: tuple[TableRouter, FileImport],
    gate: Quarantine,
) -> Iterator[Any]:
    """One tenant's pages of ``table``'s endpoint, as rows for each of its tables: the tables
    are flat, so their rows are files dlt imports without normalizing them
    (:mod:`pipelines.dlt_import`) unless the page holds a typed-JSON tag; the quarantine's
    rows take dlt's normal path."""
    router, imports = routes
    for page in client.pages(table.endpoint, tenant_id, start):
        tracker.observe_ceiling(page.server_time)
        rows, children, kids, listed = [], [], [], []
        for payload in page.invoices:
            parsed = gate.parse(payload, lambda p: _parse(table, p, tenant_id))
            if parsed is None:
                continue
            row, nested = parsed
            stamp = row["updated_date_utc"]
            tracker.observe(stamp)  # repeats within this read: the merge on the key
            edge.add(row[table.key], stamp, tracker.max_seen)
            if edge.repeats(row[table.key], stamp):
                continue  # the version loaded last run, returned again by the overlap
            row["updated_date_utc"] = datetime_for_dlt(stamp)
            rows.append(row)
            if table.allocations_of is None:
                children.extend(nested)
            else:
                kids.extend(nested)
                listed.append(credit_version_row(table.allocations_of, row[table.key], row, nested))
        stats[table.table] = stats.get(table.table, 0) + len(rows)
        if gate.quarantined:
            stats["rejected"] = stats.get("rejected", 0) + gate.quarantined
            gate.quarantined, gate.named = 0, []
        if gate.rows:
            yield router.rows(gate.drain(), hints.set_aside)
        direct = imports.enabled and not page.tagged
        for part, part_hints in (
            (rows, hints.main),
            (children, hints.persons),
            (kids, hints.allocations),
            (listed, hints.versions),
        ):
            if part and direct:
                yield from imports.rows(part, part_hints)
            elif part:
                yield router.rows(part, part_hints)


class _Edge:
    """The versions at the cursor's edge: those the next read's overlapping window returns
    again. Kept in the resource's dlt state so that a quiet hour loads nothing (no dlt package,
    so the sync can skip its build: reverse_etl/core/build_plan.py) instead of re-merging the newest
    records. Only versions within a few seconds of the newest stamp seen are held, so memory
    does not grow with a backfill."""

    MARGIN = timedelta(seconds=2)  # more than the read's overlap (XERO_OVERLAP, 1 s)

    PRUNE_AT = 1000

    def __init__(self, known: set[tuple[str, str]]) -> None:
        self.known = known
        self.near: dict[tuple[str, str], datetime] = {}
        self._prune_at = self.PRUNE_AT

    def repeats(self, record_id: str, stamp: datetime) -> bool:
        return bool(self.known) and (record_id, stamp_key(stamp)) in self.known

    def add(self, record_id: str, stamp: datetime, newest: datetime | None) -> None:
        floor = (newest or stamp) - self.MARGIN
        if stamp >= floor:
            self.near[(record_id, stamp_key(stamp))] = stamp
        if len(self.near) > self._prune_at:  # many stamps advanced past: drop those too old
            self.near = {k: v for k, v in self.near.items() if v >= floor}
            # When more versions than that share the last seconds (a dense backfill), pruning
            # at a fixed size ran on every record, each time over all of them: quadratic (at
            # 1M invoices, 63 % of the extract's CPU while reading Payments). The next prune
            # waits until the held versions have doubled, so each costs its share once.
            self._prune_at = max(self.PRUNE_AT, 2 * len(self.near))

    def versions(self, edge: datetime | None) -> list[list[str]]:
        if edge is None:
            return []
        return sorted([key[0], key[1]] for key, stamp in self.near.items() if stamp >= edge)


def _parse(
    table: FinanceTable, payload: Any, tenant_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    row = fr.parse_record(
        table.resource, table.id_field, table.spec, payload, tenant_id, for_dlt=True
    )
    record_id = row[table.key]
    stamp = datetime_for_dlt(row["updated_date_utc"])
    if table.table == "contacts":
        persons = fr.parse_children(
            "contact", record_id, tenant_id, payload.get("ContactPersons"), "ContactPersons",
            fr.PERSON_FIELDS, for_dlt=True,
        )  # fmt: skip
        for index, person in enumerate(persons):
            person.update(
                tenant_id=tenant_id,
                contact_id=record_id,
                person_index=index,
                contact_updated_date_utc=stamp,
            )
        return row, persons
    if table.allocations_of is None:
        return row, []
    allocations = fr.parse_children(
        table.resource, record_id, tenant_id, payload.get("Allocations"), "Allocations",
        fr.ALLOCATION_FIELDS, for_dlt=True,
    )  # fmt: skip
    for allocation in allocations:
        allocation.update(
            tenant_id=tenant_id,
            source_type=table.allocations_of,
            source_id=record_id,
            source_updated_date_utc=stamp,
        )
        allocation["allocation_key"] = fr.allocation_key(
            table.allocations_of, record_id, allocation
        )
    return row, allocations


def _organisations_resource(
    client: XeroClient,
    tenant_ids: Sequence[str],
    stats: dict[str, int],
    now: Callable[[], datetime],
    stops: dict[str, str],
    *,
    reload: bool = False,
) -> DltResource:
    hints = _hints("organisations", write_disposition="merge", primary_key="tenant_id")

    def read() -> Iterator[Any]:
        """``GET /Organisation`` → ``raw_xero.organisations``: read every run (one call per
        organisation: it has no If-Modified-Since), loaded only when Xero's answer differs
        from the one loaded last (a sha256 of it in the resource's dlt state), so a quiet
        hour loads nothing and the sync can skip its build (reverse_etl/core/build_plan.py).
        ``reload`` (the table is missing) loads it whatever the state says. An organisation
        that breaks the contract (an unknown ``Timezone``) is quarantined, named, and read
        again next run. Scope accounting.settings.read."""
        state = dlt.current.resource_state()
        seen: dict[str, str] = state.setdefault("sha256", {})
        for tenant_id in tenant_ids:
            if tenant_id in stops:
                continue
            try:
                records, _server_time = client.get_one("Organisation", "Organisations", tenant_id)
            except XeroRateLimitError as exc:
                stats["limit_stops"] = stats.get("limit_stops", 0) + 1
                log.warning("Xero rate limit reached for %s (Organisation): %s", tenant_id, exc)
                continue
            for payload in records[:1]:
                digest = hashlib.sha256(
                    json.dumps(payload, sort_keys=True, default=str).encode()
                ).hexdigest()
                if not reload and seen.get(tenant_id) == digest:
                    continue
                gate = Quarantine.in_state(
                    state, "organisations", tenant_id, now, id_field="OrganisationID",
                    name_field="Name",
                )  # fmt: skip
                row = gate.parse(
                    payload, lambda p, tenant=tenant_id: fr.organisation_row(p, tenant, now())
                )
                if gate.rows:
                    yield dlt.mark.with_hints(
                        gate.drain(), quarantine_hints(), create_table_variant=True
                    )
                if row is None:
                    stats["rejected"] = stats.get("rejected", 0) + 1
                    continue
                stats["organisations"] = stats.get("organisations", 0) + 1
                seen[tenant_id] = digest
                yield dlt.mark.with_hints([row], hints, create_table_variant=True)

    return dlt.resource(read, name="xero_organisations")
