"""The customers part of `invoice-sync push` (issue 13): company balance properties
(``reverse_etl.hubspot_company_actions``) and invoice associations
(``reverse_etl.hubspot_association_actions``), after the invoice upserts of the same run.

Through the one :class:`~reverse_etl.hubspot.HubSpot` client (its limiter, retries and call
count; the calls are counted in the run's ``sync_log.runs.hubspot_calls``):

- companies: ``POST /crm/objects/{V}/companies/batch/update`` (UPDATE, CLEAR; ≤ 100 inputs,
  ``{"id", "properties"}``, a cleared value sent as ``""``) and ``…/batch/create`` (CREATE, only
  with ``HUBSPOT_CREATE_COMPANIES``; never resent blindly after a lost answer:
  :meth:`~reverse_etl.hubspot_customer_calls.HubSpotCustomerCalls.create_companies`);
- associations: ``POST /crm/associations/{V}/{invoiceType}/{companies|contacts}/batch/archive``
  for REMOVE first, then ``…/batch/create`` for CREATE, ≤ :data:`ASSOCIATION_BATCH` inputs, with
  the unlabelled USER_DEFINED type read from ``…/labels`` (one call per target type, only when
  there is something to send).

The companies phase lives here, the associations phase in :mod:`reverse_etl.associations_push`,
their outcomes and shared bookkeeping in :mod:`reverse_etl.customer_outcomes`.

An empty action table makes no call at all. Association batches go ``max_in_flight`` at a
time (HTTP in worker threads, DuckDB only in the caller's). What HubSpot confirmed is written
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
from collections import defaultdict
from typing import Any

import duckdb

from pipelines.hubspot_snapshot.customers import COMPANY_FIELDS
from reverse_etl import sync_log
from reverse_etl.associations_push import push_associations
from reverse_etl.company_properties import COMPANY_PROPERTY_NAMES
from reverse_etl.customer_outcomes import (
    CustomerOutcome,
    CustomersPushReport,
    chunks,
    error_naming,
    mark_gone,
    not_found,
    record,
)
from reverse_etl.hubspot import HubSpot
from reverse_etl.hubspot_customer_calls import COMPANIES

__all__ = ["COMPANY_PROPERTY_NAMES", "CustomerOutcome", "CustomersPushReport", "push_customers"]
log = logging.getLogger(__name__)

MODIFIED = "hs_lastmodifieddate"  # companies' last-modified property, as the snapshot stores it
COMPANY_BATCH = 100
ASSOCIATION_ACTIONS = "reverse_etl.hubspot_association_actions"
COMPANY_ACTIONS = "reverse_etl.hubspot_company_actions"


def push_customers(
    con: duckdb.DuckDBPyConnection, hub: HubSpot, object_type: str, run_id: str
) -> CustomersPushReport:
    report = CustomersPushReport()
    companies = _read(con, COMPANY_ACTIONS)
    associations = _read(con, ASSOCIATION_ACTIONS)
    if not companies and not associations:
        return report
    sync_log.ensure_tables(con)  # sync_log.customer_results (benchmarks call this directly)
    if companies:
        created = _push_companies(con, hub, companies, report, run_id)
        # the action table was computed before these companies existed: attach their
        # customers' invoices now rather than an hour later
        associations += _associate_created(con, created)
    if associations:
        push_associations(con, hub, object_type, associations, report, run_id)
    log.info(report.summary())
    return report


def _read(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    try:
        cursor = con.execute(f"select * from {table}")
    except duckdb.CatalogException:  # transform has not built it yet (older warehouse)
        return []
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


# -- companies ---------------------------------------------------------------------------


def _push_companies(
    con: duckdb.DuckDBPyConnection,
    hub: HubSpot,
    actions: list[dict[str, Any]],
    report: CustomersPushReport,
    run_id: str,
) -> dict[str, str]:
    """Write the company actions; returns the companies created, by Xero ContactID."""
    updates = [a for a in actions if a["action"] in ("UPDATE", "CLEAR") and a["hs_company_id"]]
    creates = [a for a in actions if a["action"] == "CREATE"]
    created: dict[str, str] = {}
    for batch in chunks(updates, COMPANY_BATCH):
        inputs = [
            {"id": str(a["hs_company_id"]), "properties": _properties(a, blank_as_empty=True)}
            for a in batch
        ]
        answer = hub.objects_batch(COMPANIES, "update", inputs)
        report.company_calls += 1
        written = {str(r["id"]) for r in answer.results if r.get("id")}
        report.companies_updated += len(written)
        sent = {str(i["id"]): i["properties"] for i in inputs}
        stamps = {str(r["id"]): r.get("updatedAt") for r in answer.results if r.get("id")}
        _write_back_companies(
            con, [(i, {**sent.get(i, {}), MODIFIED: stamps[i]}) for i in sorted(written)], run_id
        )
        outcomes = []
        for action in batch:
            company_id = str(action["hs_company_id"])
            error = None if company_id in written else error_naming(answer, company_id)
            outcomes.append(_company_outcome(action, company_id, error))
        mark_gone(con, COMPANIES, not_found(answer, set(sent) - written))
        record(con, run_id, outcomes, report)
    for batch in chunks(creates, COMPANY_BATCH):
        inputs = [{"properties": _properties(a, blank_as_empty=False)} for a in batch]
        answer = hub.create_companies(inputs, key="xero_contact_id")
        report.company_calls += 1
        rows = []
        for result in answer.results:
            props = {
                k: v for k, v in (result.get("properties") or {}).items() if k in COMPANY_FIELDS
            }
            rows.append((str(result["id"]), {**props, MODIFIED: result.get("updatedAt")}))
        report.companies_created += len(rows)
        _write_back_companies(con, rows, run_id)
        # results come in any order: find each action's company by the stamp it was sent
        by_stamp = {props.get("xero_contact_id"): company_id for company_id, props in rows}
        outcomes = []
        for action in batch:
            company_id = by_stamp.get(action.get("xero_contact_id"))
            error = None if company_id else error_naming(answer, None)
            outcomes.append(_company_outcome(action, company_id, error))
            if company_id:
                created[str(action["xero_contact_id"])] = company_id
        record(con, run_id, outcomes, report)
    return created


def _associate_created(
    con: duckdb.DuckDBPyConnection, created: dict[str, str]
) -> list[dict[str, Any]]:
    """Association CREATE actions from each mirrored invoice of a customer to the company just
    created for it (its contact, if any, is matched on the next run)."""
    if not created:
        return []
    try:
        rows = con.execute(
            "select xero_invoice_id, xero_contact_id from reverse_etl.hubspot_invoices_desired "
            "where xero_contact_id in (select unnest(?)) order by xero_invoice_id",
            [sorted(created)],
        ).fetchall()
    except duckdb.CatalogException:  # no transform yet
        return []
    return [
        {
            "action": "CREATE",
            "xero_invoice_id": invoice_id,
            "invoice_hs_object_id": None,
            "to_object_type": COMPANIES,
            "to_object_id": created[contact_id],
            "xero_contact_id": contact_id,
            "match_rule": "created",
        }
        for invoice_id, contact_id in rows
    ]


def _company_outcome(
    action: dict[str, Any], company_id: str | None, error: dict[str, Any] | None
) -> CustomerOutcome:
    return CustomerOutcome(
        kind="company",
        action=str(action["action"]),
        outcome="refused" if error is not None else "written",
        xero_contact_id=action.get("contact_id") or action.get("xero_contact_id"),
        hs_company_id=company_id,
        category=error.get("category") if error else None,
        message=error.get("message") if error else None,
    )


def _properties(action: dict[str, Any], *, blank_as_empty: bool) -> dict[str, str]:
    names = list(action.get("changed_properties") or [])
    out = {}
    for name in names:
        value = action.get(name)
        if value is None:
            if blank_as_empty:
                out[name] = ""  # HubSpot clears a property given an empty string
            continue
        out[name] = str(value)
    return out


def _write_back_companies(
    con: duckdb.DuckDBPyConnection, rows: list[tuple[str, dict[str, str]]], run_id: str
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
            "select hs_object_id from raw_hubspot.companies where hs_object_id in "
            "(select unnest(?))",
            [list(by_id)],
        ).fetchall()
    }
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for company_id, values in by_id.items():
        if company_id in existing and values:
            groups[tuple(sorted(values))].append(company_id)
    for names, ids in groups.items():
        params: dict[str, Any] = {"id": ids}
        params.update({f"v{i}": [by_id[c][n] for c in ids] for i, n in enumerate(names)})
        columns = ", ".join(f"{_typed(f'unnest($v{i})', n)} as {n}" for i, n in enumerate(names))
        sets = ", ".join(f"{n} = s.{n}" for n in names)
        con.execute(
            f"update raw_hubspot.companies set {sets} from (select unnest($id) as id, "
            f"{columns}) as s where raw_hubspot.companies.hs_object_id = s.id",
            params,
        )
    new = [company_id for company_id in by_id if company_id not in existing]
    if new:
        params = {"id": new, "load": load}
        params.update({n: [by_id[c].get(n) for c in new] for n in (*COMPANY_FIELDS, MODIFIED)})
        con.execute(
            f"insert into raw_hubspot.companies (hs_object_id, {', '.join(COMPANY_FIELDS)}, "
            f"{MODIFIED}, archived, _dlt_load_id, _dlt_id) select unnest($id), "
            + ", ".join(f"unnest(${n})" for n in COMPANY_FIELDS)
            + f", {_typed(f'unnest(${MODIFIED})', MODIFIED)}, false, $load, uuid()::varchar",
            params,
        )
    stamped = [(c, props["xero_contact_id"]) for c, props in rows if "xero_contact_id" in props]
    if stamped:
        con.execute(
            "insert into raw_hubspot.company_stamps (hs_company_id, xero_contact_id, "
            "stamped_at, _dlt_load_id, _dlt_id) select unnest($c), unnest($x), $at, $load, "
            "uuid()::varchar",
            {
                "c": [c for c, _ in stamped],
                "x": [x for _, x in stamped],
                "at": sync_log.now(),
                "load": load,
            },
        )


def _typed(expression: str, column: str) -> str:
    """``hs_lastmodifieddate`` arrives as HubSpot's ISO text; the snapshot column is a
    timestamptz."""
    return f"cast({expression} as timestamptz)" if column == MODIFIED else expression
