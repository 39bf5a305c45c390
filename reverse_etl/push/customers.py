"""The customers part of `invoice-sync push` (issue 13): company balance properties
(``reverse_etl.hubspot_company_actions``) and invoice associations
(``reverse_etl.hubspot_association_actions``), after the invoice upserts of the same run.

Through the one :class:`~reverse_etl.hubspot.client.HubSpot` client (its limiter, retries and call
count; the calls are counted in the run's ``sync_log.runs.hubspot_calls``):

- companies: ``POST /crm/objects/{V}/companies/batch/update`` (UPDATE, CLEAR; ≤ 100 inputs,
  ``{"id", "properties"}``, a cleared value sent as ``""``) and ``…/batch/create`` (CREATE, only
  with ``HUBSPOT_CREATE_COMPANIES``; never resent blindly after a lost answer:
  :meth:`~reverse_etl.hubspot.customer_calls.CustomerCalls.create_companies`);
- associations: ``POST /crm/associations/{V}/{invoiceType}/{companies|contacts}/batch/archive``
  for REMOVE first, then ``…/batch/create`` for CREATE, ≤ :data:`ASSOCIATION_BATCH` inputs, with
  the unlabelled USER_DEFINED type read from ``…/labels`` (one call per target type, only when
  there is something to send).

The companies phase lives here, the associations phase in :mod:`reverse_etl.push.associations`,
the reading of their answers in :mod:`reverse_etl.push.customer_outcomes`; both send through
the push's one batch sender (:mod:`reverse_etl.push.batches`), record through its one result
writer (:mod:`reverse_etl.push.results`) and count in its one report
(:mod:`reverse_etl.push.report`).

An empty action table makes no call at all. Company batches go one at a time (each batch's
answer is written back before the next is sent); association batches go ``max_in_flight`` at a
time (HTTP in worker threads, the warehouse only in the caller's). What HubSpot confirmed is written
back — company values into ``raw_hubspot.companies`` after each batch, every ``xero_contact_id``
written into ``raw_hubspot.company_stamps`` (the tool's stamp log that matching rule 1 reads to
tell a person's value from its own), created/removed associations into
``raw_hubspot.invoice_associations`` once per phase (one statement; also when a call fails) —
so the next transform sees HubSpot's state without a full refresh. A process killed mid-phase
re-sends that phase's associations next run, which HubSpot takes as no change.

Every outcome, written or refused, is a row of ``sync_log.customer_results`` (with HubSpot's
words for a refusal). A per-input error (207: an unknown company, contact or record, a limit)
refuses only that input: the others go through, the run ends ``partial`` and exits 3 with one
line per refusal naming the invoice or company and the fix, and the input stays in the action
table, so the next run retries it. A company or contact HubSpot answers ``OBJECT_NOT_FOUND``
for (deleted or merged away by a person since the snapshot; incremental search never returns
archived records) is marked archived in ``raw_hubspot`` at once, and its associations
forgotten, so the next transform matches the customer again without it instead of refusing the
same write every hour.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from typing import Any

from reverse_etl.core import sync_log
from reverse_etl.core.warehouse import Connection
from reverse_etl.core.warehouse_sql import IN_LIST, insert_rows, rows_source
from reverse_etl.hubspot.client import HubSpot
from reverse_etl.hubspot.customer_calls import COMPANIES, BatchAnswer
from reverse_etl.hubspot.customer_records import COMPANY_FIELDS
from reverse_etl.push.associations import push_associations
from reverse_etl.push.batches import send_batches
from reverse_etl.push.customer_actions import (
    CompanyAction,
    associate_created,
    read_association_actions,
    read_company_actions,
)
from reverse_etl.push.customer_outcomes import error_naming, mark_gone, not_found
from reverse_etl.push.report import CustomerOutcome, PushReport
from reverse_etl.push.results import record_customer_results

log = logging.getLogger(__name__)

MODIFIED = "hs_lastmodifieddate"  # companies' last-modified property, as the snapshot stores it
COMPANY_BATCH = 100
STAMP_COLUMNS = (
    ("hs_company_id", "varchar"),
    ("xero_contact_id", "varchar"),
    ("stamped_at", "timestamptz"),
    ("_dlt_load_id", "varchar"),
    ("_dlt_id", "varchar"),
)


def push_customers(
    con: Connection,
    hub: HubSpot,
    object_type: str,
    run_id: str,
    report: PushReport | None = None,
) -> PushReport:
    """Write the company and association actions after the invoices of run ``run_id``,
    counting them in the run's ``report`` (a new one when none is given, as the benchmarks
    call it); returns that report, its customers' part filled in."""
    report = report if report is not None else PushReport(run_id=run_id)
    companies = read_company_actions(con)
    associations = read_association_actions(con)
    if companies or associations:
        sync_log.ensure_tables(con)  # sync_log.customer_results (benchmarks call this directly)
    if companies:
        created = _push_companies(con, hub, companies, report)
        # the action table was computed before these companies existed: attach their
        # customers' invoices now rather than an hour later
        associations += associate_created(con, created)
    if associations:
        push_associations(con, hub, object_type, associations, report)
    report.customers_pushed = True
    if companies or associations:
        log.info(report.customers_summary())
    return report


# -- companies ---------------------------------------------------------------------------


def _push_companies(
    con: Connection,
    hub: HubSpot,
    actions: list[CompanyAction],
    report: PushReport,
) -> dict[str, str]:
    """Write the company actions; returns the companies created, by Xero ContactID."""
    updates = [a for a in actions if a.action in ("UPDATE", "CLEAR") and a.hs_company_id]
    creates = [a for a in actions if a.action == "CREATE"]
    _update_companies(con, hub, updates, report)
    return _create_companies(con, hub, creates, report)


def _update_companies(
    con: Connection,
    hub: HubSpot,
    updates: list[CompanyAction],
    report: PushReport,
) -> None:
    def send(batch: list[CompanyAction]) -> BatchAnswer:
        return hub.objects_batch(COMPANIES, "update", _update_inputs(batch))

    for answers in send_batches(updates, COMPANY_BATCH, send, max_in_flight=1, name=COMPANIES):
        for batch, answer in answers:
            report.company_calls += 1
            written = {str(r["id"]) for r in answer.results if r.get("id")}
            report.companies_updated += len(written)
            sent = {str(i["id"]): i["properties"] for i in _update_inputs(batch)}
            stamps = {str(r["id"]): r.get("updatedAt") for r in answer.results if r.get("id")}
            rows = [(i, {**sent.get(i, {}), MODIFIED: stamps[i]}) for i in sorted(written)]
            _write_back_companies(con, rows, report.run_id)
            outcomes = []
            for action in batch:
                company_id = str(action.hs_company_id)
                error = None if company_id in written else error_naming(answer, company_id)
                outcomes.append(_company_outcome(action, company_id, error))
            mark_gone(con, COMPANIES, not_found(answer, set(sent) - written))
            record_customer_results(con, report, outcomes)


def _create_companies(
    con: Connection,
    hub: HubSpot,
    creates: list[CompanyAction],
    report: PushReport,
) -> dict[str, str]:
    def send(batch: list[CompanyAction]) -> BatchAnswer:
        inputs = [{"properties": a.properties(blank_as_empty=False)} for a in batch]
        return hub.create_companies(inputs, key="xero_contact_id")

    created: dict[str, str] = {}
    for answers in send_batches(creates, COMPANY_BATCH, send, max_in_flight=1, name=COMPANIES):
        for batch, answer in answers:
            report.company_calls += 1
            rows = []
            for result in answer.results:
                props = {
                    k: v for k, v in (result.get("properties") or {}).items() if k in COMPANY_FIELDS
                }
                rows.append((str(result["id"]), {**props, MODIFIED: result.get("updatedAt")}))
            report.companies_created += len(rows)
            _write_back_companies(con, rows, report.run_id)
            # results come in any order: find each action's company by the stamp it was sent
            by_stamp = {props.get("xero_contact_id"): company_id for company_id, props in rows}
            outcomes = []
            for action in batch:
                company_id = by_stamp.get(action.stamp)
                error = None if company_id else error_naming(answer, None)
                outcomes.append(_company_outcome(action, company_id, error))
                if company_id:
                    created[str(action.stamp)] = company_id
            record_customer_results(con, report, outcomes)
    return created


def _update_inputs(batch: list[CompanyAction]) -> list[dict[str, Any]]:
    return [
        {"id": str(a.hs_company_id), "properties": a.properties(blank_as_empty=True)} for a in batch
    ]


def _company_outcome(
    action: CompanyAction, company_id: str | None, error: dict[str, Any] | None
) -> CustomerOutcome:
    return CustomerOutcome(
        kind="company",
        action=str(action.action),
        outcome="refused" if error is not None else "written",
        xero_contact_id=action.contact_id,
        hs_company_id=company_id,
        category=error.get("category") if error else None,
        message=error.get("message") if error else None,
    )


def _write_back_companies(
    con: Connection, rows: list[tuple[str, dict[str, str]]], run_id: str
) -> None:
    """Merge what HubSpot confirmed into ``raw_hubspot.companies`` (set statements, not a
    statement per company), with the answer's ``updatedAt`` as ``hs_lastmodifieddate`` so the
    next snapshot recognises these versions as its own echoes (counted, not read:
    :mod:`pipelines.hubspot_snapshot.changes`); log every stamp in
    ``raw_hubspot.company_stamps``."""
    if not rows:
        return
    load = f"push:{run_id}"
    by_id = {
        company_id: {
            k: (v or None)
            for k, v in props.items()
            if k in COMPANY_FIELDS or (k == MODIFIED and v)  # no stamp: keep the one we hold
        }
        for company_id, props in rows
    }
    existing = {
        str(r[0])
        for r in con.execute(
            f"select hs_object_id from raw_hubspot.companies where hs_object_id {IN_LIST}",
            [list(by_id)],
        ).fetchall()
    }
    _update_known_companies(con, {c: v for c, v in by_id.items() if c in existing})
    _insert_new_companies(con, {c: v for c, v in by_id.items() if c not in existing}, load)
    stamped = [(c, props["xero_contact_id"]) for c, props in rows if "xero_contact_id" in props]
    if stamped:
        at = sync_log.now()
        stamps = [(c, x, at, load, str(uuid.uuid4())) for c, x in stamped]
        insert_rows(con, "raw_hubspot.company_stamps", STAMP_COLUMNS, stamps)


def _update_known_companies(con: Connection, by_id: dict[str, dict[str, str | None]]) -> None:
    """One ``update`` per set of property names, for the companies the snapshot holds."""
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for company_id, values in by_id.items():
        if values:
            groups[tuple(sorted(values))].append(company_id)
    for names, ids in groups.items():
        columns = [("id", "varchar"), *((n, _type(n)) for n in names)]
        rows = [(c, *(by_id[c][n] for n in names)) for c in ids]
        source, params = rows_source(con, columns, rows)
        sets = ", ".join(f"{n} = s.{n}" for n in names)
        con.execute(
            f"update raw_hubspot.companies set {sets} from ({source}) as s "
            "where raw_hubspot.companies.hs_object_id = s.id",
            params,
        )


def _insert_new_companies(
    con: Connection, by_id: dict[str, dict[str, str | None]], load: str
) -> None:
    """One ``insert`` for the companies the snapshot does not hold yet (created by this run)."""
    names = ("hs_object_id", *COMPANY_FIELDS, MODIFIED, "archived", "_dlt_load_id", "_dlt_id")
    columns = [(n, _type(n)) for n in names]
    rows = [
        (c, *(values.get(n) for n in (*COMPANY_FIELDS, MODIFIED)), False, load, str(uuid.uuid4()))
        for c, values in by_id.items()
    ]
    insert_rows(con, "raw_hubspot.companies", columns, rows)


def _type(column: str) -> str:
    """The snapshot's column types: ``hs_lastmodifieddate`` arrives as HubSpot's ISO text and
    is stored as a timestamptz; ``archived`` is a boolean; the rest text."""
    if column == MODIFIED:
        return "timestamptz"
    return "boolean" if column == "archived" else "varchar"
